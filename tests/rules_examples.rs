//! The shipped `rules/` directory: it loads, covers the fixed categories, and every example lands.

use std::path::Path;

use gongdan::classify::classify;
use gongdan::rules::RuleSet;

/// Ids other tooling depends on (issue 2): they must always exist.
const REQUIRED: &[&str] = &[
    "illegal_construction",
    "fire_lane",
    "dog",
    "street_vending",
    "clutter",
    "garbage",
    "ads",
    "ground_lock",
    "greenery",
    "open_burning",
    "noise",
    "parking",
    "heating",
    "gas",
    "municipal_facility",
    "property",
    "construction_site",
];

fn shipped() -> RuleSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    RuleSet::load(&dir).unwrap_or_else(|e| panic!("shipped rules must load:\n{e}"))
}

#[test]
fn shipped_rules_cover_every_required_category_with_enough_examples() {
    let rules = shipped();
    for id in REQUIRED {
        let cat = rules
            .category(id)
            .unwrap_or_else(|| panic!("category {id} missing"));
        assert!(
            cat.examples.len() >= 12,
            "{id}: {} examples",
            cat.examples.len()
        );
        assert!(
            cat.counter_examples.len() >= 4,
            "{id}: {} counter-examples",
            cat.counter_examples.len()
        );
        assert!(!cat.name.is_empty() && cat.sla_hours > 0);
    }
}

/// Table-driven over the rule files themselves: every example must land in
/// its category, every counter-example must not. All failures are listed.
#[test]
fn every_example_and_counter_example_classifies_as_its_file_says() {
    let rules = shipped();
    let mut failures = Vec::new();
    let mut checked = 0;
    for cat in rules.categories() {
        for ex in &cat.examples {
            checked += 1;
            let got = classify(&rules, &ex.text).category;
            if got.as_deref() != Some(cat.id.as_str()) {
                failures.push(format!(
                    "{}:{}: {:?} -> {:?}",
                    cat.file.display(),
                    ex.line,
                    ex.text,
                    got
                ));
            }
        }
        for ex in &cat.counter_examples {
            checked += 1;
            let got = classify(&rules, &ex.text).category;
            if got.as_deref() == Some(cat.id.as_str()) {
                failures.push(format!(
                    "{}:{}: counter {:?} -> {:?}",
                    cat.file.display(),
                    ex.line,
                    ex.text,
                    got
                ));
            }
        }
    }
    assert!(checked >= REQUIRED.len() * 16, "only {checked} examples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn chatter_with_category_words_stays_silent() {
    let rules = shipped();
    let chatter = [
        "楼下烧烤店的羊肉串真好吃",
        "我家狗狗今天打疫苗了",
        "请问暖气费怎么交",
        "好的收到，谢谢",
        "明天上午停水，大家提前接水",
    ];
    for text in chatter {
        let c = classify(&rules, text);
        assert_eq!(c.category, None, "{text}: {:?}", c.matches);
    }
}

#[test]
fn classification_explains_itself_and_finds_the_place() {
    let rules = shipped();
    let c = classify(&rules, "５号楼３单元楼道里堆满了纸箱，没人管");
    assert_eq!(c.category.as_deref(), Some("clutter"));
    assert_eq!(c.location.as_deref(), Some("5号楼3单元楼道"));
    assert!(c.confidence > 0.5 && c.confidence <= 1.0);
    assert!(c
        .matches
        .iter()
        .any(|m| m.category.as_deref() == Some("clutter") && m.weight > 0.0));
    assert!(c.matches.iter().any(|m| m.kind == "complaint_cue"));

    let leak = classify(&rules, "3栋2单元燃气泄漏了，好大的味道");
    assert_eq!(leak.category.as_deref(), Some("gas"));
    assert_eq!(leak.priority, gongdan::priority::Priority::Urgent);
}

#[test]
fn classifier_is_shared_across_threads() {
    let rules = std::sync::Arc::new(shipped());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let rules = rules.clone();
            std::thread::spawn(move || classify(&rules, "消防通道被车堵死了").category)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().as_deref(), Some("fire_lane"));
    }
}
