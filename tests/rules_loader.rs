//! Loader tests: each kind of bad rule file gives the right `file:line` error, and nothing panics.

use std::fs;
use std::path::Path;

use gongdan::rules::RuleSet;

const GLOBAL: &str = r#"locations = ['\d+号楼']
counter_examples = ["我家狗狗今天打疫苗了"]

[complaint.keywords]
"没人管" = 1.5
"#;

const DOG: &str = r#"id = "dog"
name = "不文明养犬"
threshold = 3.0
examples = ["草坪上全是狗屎没人管"]
counter_examples = ["狗粮哪里买"]

[keywords]
"狗屎" = 3

[exclude]
"狗粮" = "veto"
"#;

/// A valid two-file rules directory with `file` replaced by `content`.
fn rules_dir_with(file: &str, content: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("categories")).unwrap();
    fs::write(dir.path().join("global.toml"), GLOBAL).unwrap();
    fs::write(dir.path().join("categories/dog.toml"), DOG).unwrap();
    let path = dir.path().join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    dir
}

fn errors_of(dir: &Path) -> Vec<String> {
    match RuleSet::load(dir) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| {
                // Relative to the temp dir so expectations read like what admins see.
                let rel = e
                    .file
                    .strip_prefix(dir)
                    .unwrap_or(&e.file)
                    .display()
                    .to_string();
                format!("{rel}:{}: {}", e.line, e.message)
            })
            .collect(),
    }
}

#[test]
fn the_base_fixture_loads() {
    let dir = rules_dir_with("dict.txt", "狗屎 1000 n\n");
    assert_eq!(errors_of(dir.path()), Vec::<String>::new());
}

#[test]
fn each_kind_of_bad_rule_file_names_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\ncolour = \"red\"\n[keywords]\n\"狗屎\" = 3\n",
            "categories/dog.toml:4: unknown field `colour`",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗屎\" = 3\n[[patterns]]\nregex = '狗(屎'\nweight = 2\n",
            "categories/dog.toml:7: invalid regex \"狗(屎\"",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = \"high\"\n[keywords]\n\"狗屎\" = 3\n",
            "categories/dog.toml:3: invalid type: string \"high\", expected f64",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\n",
            "categories/dog.toml:1: category has no keywords, topics or patterns",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗屎\" = -1\n",
            "categories/dog.toml:5: weight must be a number above 0",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\npriority = \"asap\"\n[keywords]\n\"狗屎\" = 3\n",
            "categories/dog.toml:4: unknown variant `asap`",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\nreply = \"工单 {ticket} 由 {boss} 处理\"\n[keywords]\n\"狗屎\" = 3\n",
            "categories/dog.toml:4: reply uses unknown placeholder {boss}",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗屎\" = 3\n[exclude]\n\"狗粮\" = \"maybe\"\n",
            "categories/dog.toml:7: exclude \"狗粮\": value must be a number above 0",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords\n\"狗屎\" = 3\n",
            "categories/dog.toml:4:",
        ),
        (
            "categories/dog.toml",
            "id = \"Dog Rules\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗屎\" = 3\n",
            "categories/dog.toml:1: id must be lower-case",
        ),
        (
            "categories/copy.toml",
            "\n\nid = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗粪\" = 3\n",
            "categories/dog.toml:1: duplicate category id \"dog\" (also in",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\nexamples = [\n  \"狗屎\",\n  \"今天天气真好\",\n]\n[keywords]\n\"狗屎\" = 3\n",
            "categories/dog.toml:6: example \"今天天气真好\" should classify as dog but got none",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\ncounter_examples = [\"狗屎好多\"]\n[keywords]\n\"狗屎\" = 3\n",
            "categories/dog.toml:4: counter-example \"狗屎好多\" must not classify as dog",
        ),
        (
            "global.toml",
            // The model learns from both sides of a contradiction, so it
            // cannot hide one: the same message as a dog example and as chatter.
            "counter_examples = [\n\"草坪上全是狗屎没人管\"]\n",
            "global.toml:2: counter-example \"草坪上全是狗屎没人管\" should not be a complaint but got dog",
        ),
        (
            "global.toml",
            "locations = ['[东南西北门']\n",
            "global.toml:1: invalid regex",
        ),
        // Valid but expensive: refused at load, with file and line.
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗屎\" = 3\n[[patterns]]\nregex = '狗[\\s\\S]{0,3000}屎'\nweight = 2\n",
            "categories/dog.toml:7: regex \"狗[\\\\s\\\\S]{0,3000}屎\" repeats up to 3000 times; at most 200",
        ),
        (
            "categories/dog.toml",
            "id = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗屎\" = 3\n[[patterns]]\nregex = '狗(.{0,30}屎){0,30}'\nweight = 2\n",
            "categories/dog.toml:7: regex \"狗(.{0,30}屎){0,30}\" repeats up to 900 times",
        ),
        (
            "global.toml",
            "locations = ['\\w{100}\\w{100}\\w{100}\\w{100}\\w{100}\\w{100}号楼']\n",
            "global.toml:1: invalid regex",
        ),
        (
            "global.toml",
            "[chatter.keywords]\n\"请问\" = 2\n[chatter]\nfoo = 1\n",
            "global.toml:4: unknown field `foo`",
        ),
        (
            "standard.toml",
            "[[item]]\ncode = \"0101\"\nkind = \"部件\"\nname = \"上水井盖\"\ncategory = \"wells\"\nterms = [\"井盖\"]\n",
            "standard.toml:5: unknown category \"wells\"",
        ),
        (
            "standard.toml",
            "[[item]]\ncode = \"0101\"\nkind = \"零件\"\nname = \"上水井盖\"\ncategory = \"none\"\n",
            "standard.toml:3: kind must be \"部件\" or \"事件\"",
        ),
        (
            "corpus/chat.tsv",
            "# chat\ndog\t草坪上狗屎好多\nnone 今天天气好\nwells\t井盖没了\n",
            "corpus/chat.tsv:3: expected `labels<TAB>text`",
        ),
        (
            "corpus/chat.tsv",
            "dog\t草坪上狗屎好多\nwells\t井盖没了\n",
            "corpus/chat.tsv:2: unknown category \"wells\"",
        ),
        (
            "dict.txt",
            "占道经营 2000 n\n# comment\n地锁 lots\n",
            "dict.txt:3: frequency \"lots\" for \"地锁\" must be a whole number",
        ),
        (
            "dict.txt",
            "占道经营 2000 n\n地\u{0}锁 100\n",
            "dict.txt:2: word \"地\\0锁\" contains a control character",
        ),
    ];
    for (file, content, want) in cases {
        let dir = rules_dir_with(file, content);
        let errors = errors_of(dir.path());
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "writing {file}:\n{content}\nwanted an error starting with {want:?}, got {errors:#?}"
        );
    }
}

#[test]
fn all_errors_are_reported_at_once() {
    let dir = rules_dir_with(
        "categories/dog.toml",
        "id = \"dog\"\nname = \"x\"\nthreshold = 3\n[keywords]\n\"狗屎\" = -1\n\"狗粪\" = 0\n[[patterns]]\nregex = '('\nweight = 1\n",
    );
    let errors = errors_of(dir.path());
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn unreadable_and_missing_things_are_errors_not_panics() {
    let dir = rules_dir_with("categories/bad.toml", "");
    fs::write(
        dir.path().join("categories/bad.toml"),
        [0xff, 0xfe, 0x00, 0x41],
    )
    .unwrap();
    let errors = errors_of(dir.path());
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("categories/bad.toml:0: not valid UTF-8")),
        "{errors:#?}"
    );

    let missing = RuleSet::load(Path::new("/nonexistent/rules")).unwrap_err();
    assert!(missing.to_string().contains("rules directory not found"));

    let empty = tempfile::tempdir().unwrap();
    let errors = RuleSet::load(empty.path()).unwrap_err().to_string();
    assert!(errors.contains("categories"), "{errors}");
}

#[test]
fn error_display_is_file_colon_line_colon_message() {
    let dir = rules_dir_with("dict.txt", "地锁 0\n");
    let err = RuleSet::load(dir.path()).unwrap_err();
    let shown = err.to_string();
    let want = format!("{}:1: frequency", dir.path().join("dict.txt").display());
    assert!(shown.starts_with(&want), "{shown}");
}

#[test]
fn a_standard_code_must_be_one_standard_toml_gives_the_category() {
    let standard = "[[item]]\ncode = \"0118\"\nkind = \"事件\"\nname = \"犬只\"\n\
                    category = \"dog\"\nterms = [\"犬只\"]\n\n\
                    [[item]]\ncode = \"0505\"\nkind = \"事件\"\nname = \"机动车乱停放\"\n\
                    category = \"none\"\nterms = [\"乱停车\"]\n";
    let with_code = |code: &str| {
        let dir = rules_dir_with("standard.toml", standard);
        let dog = DOG.replacen(
            "threshold",
            &format!("standard_code = \"{code}\"\nthreshold"),
            1,
        );
        fs::write(dir.path().join("categories/dog.toml"), dog).unwrap();
        dir
    };
    let dir = with_code("0505");
    let errors = errors_of(dir.path());
    assert!(
        errors.iter().any(|e| e.starts_with(
            "categories/dog.toml:3: standard_code \"0505\" is not a standard.toml item of \"dog\" (its items there: 0118)"
        )),
        "{errors:#?}"
    );
    let dir = with_code("0118");
    assert_eq!(errors_of(dir.path()), Vec::<String>::new());
}
