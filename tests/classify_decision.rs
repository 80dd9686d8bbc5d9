//! The classifier's decision: topic evidence × shared problem evidence, the
//! learned model's vote, and the rules that overrule it.

use std::fs;
use std::path::Path;

use gongdan::classify::classify;
use gongdan::rules::{held_out, RuleSet, Training};

const GLOBAL: &str = r#"
[complaint.keywords]
"没人管" = 1.5

[problem.keywords]
"长期" = 1.5
"损坏" = 1.5

[chatter.keywords]
"谢谢" = 2
"#;

const LIGHTS: &str = r#"id = "municipal_facility"
name = "市政设施"
threshold = 3.0
examples = ["路灯长期不亮"]
counter_examples = ["路灯真好看"]
topics = ["路灯", "井盖"]
"#;

const DOG: &str = r#"id = "dog"
name = "不文明养犬"
threshold = 3.0
examples = ["草坪上全是狗屎没人管"]

[keywords]
"狗屎" = 3

[exclude]
"狗粮" = "veto"
"#;

/// Dog complaints that all mention 狗粮: the model learns 狗粮 is a dog word.
const CORPUS: &str = "dog\t狗粮撒了一地 招来一群野狗 没人管\n\
dog\t狗粮喂的流浪狗 天天在楼下叫\n\
dog\t有人在楼道放狗粮喂狗 狗到处拉屎\n\
dog\t狗粮撒在草坪上 狗在那拉屎\n\
none\t今天天气真好\n\
none\t周末去公园\n";

fn rules_dir(corpus: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("categories")).unwrap();
    fs::write(dir.path().join("global.toml"), GLOBAL).unwrap();
    fs::write(
        dir.path().join("categories/municipal_facility.toml"),
        LIGHTS,
    )
    .unwrap();
    fs::write(dir.path().join("categories/dog.toml"), DOG).unwrap();
    if let Some(corpus) = corpus {
        fs::create_dir_all(dir.path().join("corpus")).unwrap();
        fs::write(dir.path().join("corpus/chat.tsv"), corpus).unwrap();
    }
    dir
}

fn load(dir: &Path) -> RuleSet {
    RuleSet::load(dir).unwrap_or_else(|e| panic!("fixture must load:\n{e}"))
}

#[test]
fn a_topic_with_a_shared_problem_word_is_a_complaint_and_says_why() {
    let dir = rules_dir(None);
    let rules = load(dir.path());
    // 井盖 has no example of its own: the shared problem word completes it.
    let c = classify(&rules, "井盖损坏");
    assert_eq!(c.category.as_deref(), Some("municipal_facility"), "{c:#?}");
    let kinds: Vec<(&str, &str)> = c
        .matches
        .iter()
        .map(|m| (m.kind, m.term.as_ref()))
        .collect();
    assert!(kinds.contains(&("topic", "井盖")), "{kinds:?}");
    assert!(kinds.contains(&("problem", "损坏")), "{kinds:?}");
    // Neither half is enough alone.
    for text in ["井盖上的图案", "东西损坏了"] {
        let c = classify(&rules, text);
        assert_eq!(c.category, None, "{text}: {c:#?}");
    }
}

#[test]
fn the_model_votes_and_a_rule_veto_beats_it() {
    let dir = rules_dir(Some(CORPUS));
    let rules = load(dir.path());
    // No rule knows 猫粮 or 野狗; the model, taught by the corpus, names dog.
    let c = classify(&rules, "猫粮撒了一地 招来一群野狗 没人管");
    assert_eq!(c.category.as_deref(), Some("dog"), "{c:#?}");
    let vote = c
        .matches
        .iter()
        .find(|m| m.kind == "model")
        .expect("a model contribution");
    assert_eq!(vote.category.as_deref(), Some("dog"));
    assert!(vote.weight > 0.0 && vote.term.starts_with("p="), "{vote:?}");
    // The same words with 狗粮, which the dog rules veto: no dog ticket,
    // however sure the model is.
    let c = classify(&rules, "狗粮撒了一地 招来一群野狗 没人管");
    assert_eq!(c.category, None, "{c:#?}");
    assert!(c.matches.iter().any(|m| m.kind == "veto"));
}

#[test]
fn the_same_rules_give_the_same_verdicts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let (a, b) = (load(&root), load(&root));
    let mut texts = Vec::new();
    for entry in fs::read_dir(root.join("corpus")).unwrap() {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap();
        texts.extend(
            text.lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(_, t)| t.to_string()),
        );
    }
    assert!(texts.len() > 100, "the shipped corpus is there");
    for text in &texts {
        let (x, y) = (classify(&a, text), classify(&b, text));
        assert_eq!(
            serde_json::to_string(&x).unwrap(),
            serde_json::to_string(&y).unwrap()
        );
    }
}

#[test]
fn the_held_out_fifth_is_not_learnt_from() {
    // One held-out and one trained-on message, found among numbered variants.
    let variant = |want: bool| {
        (0..100)
            .map(|i| format!("狗粮堆{i}号楼下 野狗成群"))
            .find(|t| held_out(t) == want)
            .unwrap()
    };
    let (hidden, seen) = (variant(true), variant(false));
    let corpus = format!("dog\t{hidden}\ndog\t{seen}\nnone\t今天天气真好\n");
    let dir = rules_dir(Some(&corpus));
    let all = load(dir.path());
    let trained = RuleSet::load_with(dir.path(), Training::WithoutHeldOut).unwrap();
    let hidden_lines = corpus
        .lines()
        .filter(|l| held_out(l.split_once('\t').unwrap().1))
        .count();
    assert!(hidden_lines >= 1);
    assert_eq!(all.model_size(), trained.model_size() + hidden_lines);
}

#[test]
fn silencing_the_model_leaves_the_rules_alone() {
    let dir = rules_dir(Some(CORPUS));
    let rules = load(dir.path());
    // Only the model, taught by the corpus, knows this is a dog matter.
    let text = "猫粮撒了一地 招来一群野狗 没人管";
    assert_eq!(classify(&rules, text).category.as_deref(), Some("dog"));
    let rules = rules.without_model();
    let c = classify(&rules, text);
    assert_eq!(c.category, None, "{c:#?}");
    assert!(c.matches.iter().all(|m| m.kind != "model"), "{c:#?}");
    // The rules' own verdicts stand.
    let c = classify(&rules, "草坪上全是狗屎没人管");
    assert_eq!(c.category.as_deref(), Some("dog"));
}

/// A category heavy with words for one thing, and a "fixed now" chatter cue.
const MANHOLES: &str = r#"id = "municipal_facility"
name = "市政设施"
threshold = 3.0
examples = ["井盖缺失了"]

[keywords]
"井盖" = 3
"缺失" = 3
"井盖缺失" = 3
"#;

#[test]
fn fixed_now_outweighs_however_many_category_words() {
    let dir = rules_dir(None);
    fs::write(
        dir.path().join("categories/municipal_facility.toml"),
        MANHOLES,
    )
    .unwrap();
    let global = format!("{GLOBAL}\"已经修复\" = 3.5\n");
    fs::write(dir.path().join("global.toml"), global).unwrap();
    let rules = load(dir.path());
    // 9 points of category words, but the message says it is fixed: they
    // count up to twice the threshold, and the chatter cue wins.
    let c = classify(&rules, "井盖缺失问题已经修复");
    assert_eq!(c.category, None, "{c:#?}");
    assert!(c.matches.iter().any(|m| m.kind == "chatter_cue"));
    let c = classify(&rules, "井盖缺失");
    assert_eq!(c.category.as_deref(), Some("municipal_facility"), "{c:#?}");
}

#[test]
fn a_keyword_that_is_also_a_standard_term_counts_once() {
    let dir = rules_dir(None);
    let standard = "[[item]]\ncode = \"0118\"\nkind = \"事件\"\nname = \"犬只\"\n\
                    category = \"dog\"\nterms = [\"狗屎\"]\n";
    fs::write(dir.path().join("standard.toml"), standard).unwrap();
    let rules = load(dir.path());
    let c = classify(&rules, "草坪上全是狗屎");
    // 狗屎 is a keyword (3) and a standard term (1.5): it weighs 3, not 4.5.
    let dog: f64 = c
        .matches
        .iter()
        .filter(|m| m.category.as_deref() == Some("dog") && m.weight > 0.0 && m.kind != "model")
        .map(|m| m.weight)
        .sum();
    assert_eq!(dog, 3.0, "{c:#?}");
}

#[test]
fn a_formal_subject_without_chat_cues_is_topic_times_problem() {
    // The shipped rules: a message-board subject, no 没人管, no 太…了.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = load(&root).without_model();
    let c = classify(&rules, "关于和平路路灯长期不亮的问题");
    assert_eq!(c.category.as_deref(), Some("municipal_facility"), "{c:#?}");
    assert!(c.matches.iter().any(|m| m.kind == "problem"), "{c:#?}");
    assert!(
        c.matches.iter().all(|m| m.kind != "complaint_cue"),
        "{c:#?}"
    );
}
