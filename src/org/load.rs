//! Reading `org.toml`: serde shape, then checks that name every problem with `file:line`.
//!
//! The file is flat (one table per unit, each naming its parent) so that an
//! admin can add a community by copying four lines, and every reference that
//! does not resolve can point at the line that made it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{Department, GroupRef, Level, Member, Org, Unit};
use crate::rules::line_of;

/// One problem in the organisation file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct OrgError {
    pub file: PathBuf,
    /// 1-based; 0 for the file as a whole.
    pub line: usize,
    pub message: String,
}

/// Everything wrong with the file, so one pass fixes all of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OrgErrors(pub Vec<OrgError>);

impl fmt::Display for OrgErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgFile {
    #[serde(default)]
    city: Option<UnitSpec>,
    #[serde(default)]
    district: Vec<UnitSpec>,
    /// 街道 or 执法中队.
    #[serde(default)]
    street: Vec<UnitSpec>,
    #[serde(default)]
    community: Vec<UnitSpec>,
    #[serde(default)]
    department: Vec<DepartmentSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitSpec {
    name: Spanned<String>,
    /// The street of a community, the district of a street.
    #[serde(default)]
    street: Option<Spanned<String>>,
    #[serde(default)]
    district: Option<Spanned<String>>,
    #[serde(default)]
    leaders: Vec<Spanned<MemberSpec>>,
    #[serde(default)]
    officers: Vec<Spanned<MemberSpec>>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    #[serde(default)]
    staff_group: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MemberSpec {
    Key(String),
    Named { id: String, name: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentSpec {
    name: Spanned<String>,
    #[serde(default)]
    contact_group: Option<Spanned<String>>,
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<OrgError>,
}

impl Checker<'_> {
    fn error<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.errors.push(OrgError {
            file: self.path.to_path_buf(),
            line: line_of(self.text, at.span().start),
            message: message.into(),
        });
    }

    /// `platform:rest` with both parts non-empty.
    fn split(&mut self, at: &Spanned<String>, what: &str) -> Option<(String, String)> {
        match at.get_ref().split_once(':') {
            Some((p, rest)) if !p.trim().is_empty() && !rest.trim().is_empty() => {
                Some((p.trim().to_string(), rest.trim().to_string()))
            }
            _ => {
                self.error(
                    at,
                    format!(
                        "{what} {:?} must be \"platform:id\", e.g. \"onebot:10001\"",
                        at.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn group(&mut self, at: &Spanned<String>) -> Option<GroupRef> {
        self.split(at, "group")
            .map(|(platform, group)| GroupRef { platform, group })
    }

    fn members(&mut self, list: &[Spanned<MemberSpec>]) -> Vec<Member> {
        let mut out = Vec::new();
        for m in list {
            let (key, name) = match m.get_ref() {
                MemberSpec::Key(k) => (k.clone(), None),
                MemberSpec::Named { id, name } => (id.clone(), Some(name.clone())),
            };
            let spanned = Spanned::new(m.span(), key);
            if let Some((platform, id)) = self.split(&spanned, "person") {
                out.push(Member {
                    platform,
                    id,
                    name: name.filter(|n| !n.trim().is_empty()),
                });
            }
        }
        out
    }
}

/// Reads and checks `path`. A missing file is the empty organisation (today's
/// behaviour); anything wrong comes back as every error found, with `file:line`.
pub fn load(path: &Path) -> Result<Org, OrgErrors> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Org::default()),
        Err(e) => {
            return Err(OrgErrors(vec![OrgError {
                file: path.to_path_buf(),
                line: 0,
                message: format!("cannot read: {e}"),
            }]))
        }
    };
    parse(path, &text)
}

/// [`load`] on text already read.
pub fn parse(path: &Path, text: &str) -> Result<Org, OrgErrors> {
    let file: OrgFile = toml::from_str(text).map_err(|e| {
        OrgErrors(vec![OrgError {
            file: path.to_path_buf(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        }])
    })?;
    let mut c = Checker {
        path,
        text,
        errors: Vec::new(),
    };
    let mut units: Vec<Unit> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let city = file.city.as_ref().map(|spec| {
        for (field, v) in [("street", &spec.street), ("district", &spec.district)] {
            if let Some(v) = v {
                c.error(v, format!("[city] has no {field}: it is the top"));
            }
        }
        add_unit(&mut c, &mut units, &mut names, spec, Level::City, None)
    });
    let parent_of = |c: &mut Checker,
                     units_by_name: &HashMap<String, usize>,
                     spec: &UnitSpec,
                     key: Option<&Spanned<String>>,
                     field: &str,
                     want: Level|
     -> Option<usize> {
        let Some(key) = key else {
            if want == Level::City {
                return city;
            }
            c.error(
                &spec.name,
                format!("{:?} needs `{field} = \"…\"`", spec.name.get_ref()),
            );
            return None;
        };
        match units_by_name.get(key.get_ref().trim()) {
            Some(i) => Some(*i),
            None => {
                c.error(key, format!("no [[{field}]] is named {:?}", key.get_ref()));
                None
            }
        }
    };
    // Parents are looked up among the units added before them, so the
    // levels are read top down.
    let mut known: HashMap<String, usize> = HashMap::new();
    for spec in &file.district {
        if let Some(s) = &spec.street {
            c.error(s, "a [[district]] names no street");
        }
        let i = add_unit(&mut c, &mut units, &mut names, spec, Level::District, city);
        known.insert(spec.name.get_ref().trim().to_string(), i);
    }
    let districts: HashMap<String, usize> = known
        .iter()
        .filter(|(_, i)| units[**i].level == Level::District)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    for spec in &file.street {
        let want = if districts.is_empty() {
            Level::City
        } else {
            Level::District
        };
        let parent = parent_of(
            &mut c,
            &districts,
            spec,
            spec.district.as_ref(),
            "district",
            want,
        );
        let i = add_unit(&mut c, &mut units, &mut names, spec, Level::Street, parent);
        known.insert(spec.name.get_ref().trim().to_string(), i);
    }
    let streets: HashMap<String, usize> = known
        .iter()
        .filter(|(_, i)| units[**i].level == Level::Street)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    for spec in &file.community {
        let want = if streets.is_empty() {
            Level::City
        } else {
            Level::Street
        };
        let parent = parent_of(&mut c, &streets, spec, spec.street.as_ref(), "street", want);
        add_unit(
            &mut c,
            &mut units,
            &mut names,
            spec,
            Level::Community,
            parent,
        );
    }

    // A group in two communities would make 首接负责 a coin toss.
    let mut seen: HashMap<GroupRef, String> = HashMap::new();
    for (spec, unit) in file
        .community
        .iter()
        .zip(units.iter().filter(|u| u.level == Level::Community))
    {
        for (g_spec, g) in spec.groups.iter().zip(&unit.groups) {
            if let Some(other) = seen.insert(g.clone(), unit.name.clone()) {
                c.error(
                    g_spec,
                    format!("group {:?} is already in {other:?}", g_spec.get_ref()),
                );
            }
        }
    }

    let mut departments = Vec::new();
    let mut dept_names = HashSet::new();
    for d in &file.department {
        let name = d.name.get_ref().trim().to_string();
        if name.is_empty() {
            c.error(&d.name, "department name is empty");
        } else if !dept_names.insert(name.clone()) {
            c.error(&d.name, format!("department {name:?} is named twice"));
        }
        let contact_group = d.contact_group.as_ref().and_then(|g| c.group(g));
        departments.push(Department {
            name,
            contact_group,
        });
    }

    if c.errors.is_empty() {
        Ok(Org::new(Some(path.to_path_buf()), units, departments))
    } else {
        Err(OrgErrors(c.errors))
    }
}

/// Checks one unit's own fields and appends it; returns its index.
fn add_unit(
    c: &mut Checker,
    units: &mut Vec<Unit>,
    names: &mut HashSet<String>,
    spec: &UnitSpec,
    level: Level,
    parent: Option<usize>,
) -> usize {
    let name = spec.name.get_ref().trim().to_string();
    if name.is_empty() {
        c.error(&spec.name, "name is empty");
    } else if !names.insert(name.clone()) {
        c.error(&spec.name, format!("{name:?} is named twice"));
    }
    let staff_group = spec.staff_group.as_ref().and_then(|g| c.group(g));
    let leaders = c.members(&spec.leaders);
    let officers = c.members(&spec.officers);
    if level != Level::Community {
        if let Some(first) = spec.officers.first() {
            c.error(
                first,
                "station officers belong to a [[community]]; list them there",
            );
        }
        if let Some(first) = spec.groups.first() {
            c.error(first, "residents' groups belong to a [[community]]");
        }
    }
    let groups = spec.groups.iter().filter_map(|g| c.group(g)).collect();
    units.push(Unit {
        name,
        level,
        parent,
        leaders,
        officers,
        groups,
        staff_group,
    });
    units.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[city]
name = "示例市"
leaders = ["generic:mayor"]
staff_group = "generic:city-staff"

[[district]]
name = "东城区"
leaders = [{ id = "generic:qu", name = "刘区长" }]

[[street]]
name = "和平街道"
district = "东城区"
leaders = ["generic:zhou"]
staff_group = "generic:street-staff"

[[community]]
name = "阳光社区"
street = "和平街道"
groups = ["generic:g1", "wechat:阳光小区业主群"]
officers = ["generic:li", { id = "generic:zhao", name = "赵伟" }]
staff_group = "generic:g1-staff"

[[department]]
name = "燃气公司"
contact_group = "generic:gas"
"#;

    #[test]
    fn a_good_file_builds_the_tree() {
        let org = parse(Path::new("org.toml"), GOOD).unwrap();
        let c = org.community_of("generic", "g1", None).unwrap();
        let chain: Vec<&str> = org
            .chain(c)
            .iter()
            .map(|i| org.units[*i].name.as_str())
            .collect();
        assert_eq!(chain, ["阳光社区", "和平街道", "东城区", "示例市"]);
        assert_eq!(org.units[c].officers[1].mention(), "@赵伟");
        assert_eq!(
            org.departments[0].contact_group.as_ref().unwrap().group,
            "gas"
        );
        assert!(org.is_member("generic:qu"));
    }

    #[test]
    fn every_mistake_names_its_line() {
        let bad = GOOD
            .replace("district = \"东城区\"", "district = \"西城区\"")
            .replace("\"generic:li\"", "\"li\"")
            .replace(
                "[[department]]\nname = \"燃气公司\"",
                "[[department]]\nname = \"\"",
            );
        let errors = parse(Path::new("org.toml"), &bad).unwrap_err().0;
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("org.toml:13: no [[district]] is named \"西城区\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("org.toml:21: person \"li\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("org.toml:25: department name is empty")),
            "{lines:?}"
        );

        let syntax = parse(Path::new("org.toml"), "[city]\nname = \n").unwrap_err();
        assert_eq!(syntax.0[0].line, 2, "{syntax}");
    }

    #[test]
    fn a_group_in_two_communities_is_refused() {
        let twice = format!("{GOOD}\n[[community]]\nname = \"二社区\"\nstreet = \"和平街道\"\ngroups = [\"generic:g1\"]\n");
        let e = parse(Path::new("o.toml"), &twice).unwrap_err();
        assert!(
            e.to_string()
                .contains("group \"generic:g1\" is already in \"阳光社区\""),
            "{e}"
        );
    }

    #[test]
    fn a_missing_file_is_the_empty_organisation() {
        let org = load(Path::new("/nonexistent/org.toml")).unwrap();
        assert!(org.is_empty());
    }
}
