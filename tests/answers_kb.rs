//! The knowledge base in `rules/answers/`: the shipped one's size and bars,
//! `file:line` errors for bad entries, and which messages ask after a ticket.

use std::fs;
use std::path::Path;

use gongdan::answer::eval::{evaluate_answers, parse_questions};
use gongdan::answer::{decide, Decision, KnowledgeBase, Response, StatusQuery};
use gongdan::rules::RuleSet;

fn shipped() -> (RuleSet, KnowledgeBase) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = RuleSet::load(&root.join("rules")).expect("shipped rules load");
    let kb = KnowledgeBase::load(&rules).expect("shipped answers load");
    (rules, kb)
}

#[test]
fn the_shipped_knowledge_base_has_40_entries_with_3_examples_and_2_counter_examples() {
    let (_, kb) = shipped();
    assert!(kb.entries().len() >= 40, "{} entries", kb.entries().len());
    for e in kb.entries() {
        assert!(
            e.examples.len() >= 3,
            "{}: {} examples",
            e.id,
            e.examples.len()
        );
        assert!(
            e.counter_examples.len() >= 2,
            "{}: {} counter-examples",
            e.id,
            e.counter_examples.len()
        );
        // Contacts come from placeholders: no answer carries a number an
        // admin would have to check, except the national hotlines.
        let digits: String = e
            .answer
            .split(|c: char| !c.is_ascii_digit())
            .filter(|d| d.len() >= 5)
            .filter(|d| !["12345", "12315", "95598"].contains(d))
            .collect();
        assert!(digits.is_empty(), "{}: phone-like number in answer", e.id);
        // Replies are masked on the way out; an answer must survive it intact
        // (12345, 8:00–12:00, 22:00至次日6:00 are not phone numbers).
        let filled = gongdan::answer::Contacts::default().fill(&e.answer);
        assert_eq!(gongdan::ticket::mask_phones(&filled), filled, "{}", e.id);
    }
}

#[test]
fn answers_meet_their_bars_on_the_labelled_questions() {
    let (rules, kb) = shipped();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = fs::read_to_string(root.join("rules/answers/eval/questions.tsv")).unwrap();
    let samples = parse_questions(&text, &kb).expect("questions.tsv parses");
    let r = evaluate_answers(&rules, &kb, &samples);
    println!("{r}");
    assert!(r.questions >= 120 && r.complaints >= 40, "{r}");
    assert!(r.question_accuracy() >= 0.90, "{r}");
    assert!(r.complaints_answered_rate() <= 0.02, "{r}");
    assert_eq!(r.none_answered, 0, "{r}");
}

const GLOBAL: &str = r#"locations = ['\d+号楼']

[complaint.keywords]
"没人管" = 1.5
"#;

const DOG: &str = r#"id = "dog"
name = "不文明养犬"
threshold = 3.0
examples = ["草坪上全是狗屎没人管"]

[keywords]
"狗屎" = 3
"#;

/// A rules directory with the dog category and `answers/bad.toml` = `answers`.
fn rules_with_answers(answers: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("categories")).unwrap();
    fs::create_dir_all(dir.path().join("answers")).unwrap();
    fs::write(dir.path().join("global.toml"), GLOBAL).unwrap();
    fs::write(dir.path().join("categories/dog.toml"), DOG).unwrap();
    fs::write(dir.path().join("answers/bad.toml"), answers).unwrap();
    dir
}

fn errors_of(dir: &Path) -> Vec<String> {
    let rules = RuleSet::load(dir).expect("categories load");
    match KnowledgeBase::load(&rules) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| {
                let rel = e.file.strip_prefix(dir).unwrap_or(&e.file).display();
                format!("{rel}:{}: {}", e.line, e.message)
            })
            .collect(),
    }
}

const GOOD: &str = r#"[[entry]]
id = "dog_licence"
question = "狗证在哪办"
answer = "请到{police}办理。"
category = "dog"
examples = ["请问狗证在哪办"]
counter_examples = ["狗证丢了"]

[entry.keywords]
"狗证" = 2.5
"#;

#[test]
fn a_good_entry_loads_and_answers_its_example() {
    let dir = rules_with_answers(GOOD);
    assert_eq!(errors_of(dir.path()), Vec::<String>::new());
    let rules = RuleSet::load(dir.path()).unwrap();
    let kb = KnowledgeBase::load(&rules).unwrap();
    assert!(matches!(
        decide(&rules, &kb, "请问狗证在哪办"),
        Decision::Inquiry(Response::Answer(0))
    ));
    // A statement is no question, however topical.
    assert!(matches!(
        decide(&rules, &kb, "狗证办好了"),
        Decision::Inquiry(Response::Nothing)
    ));
}

#[test]
fn bad_entries_are_reported_with_file_and_line() {
    let bad = r#"[[entry]]
id = "Dog-Licence"
question = "狗证在哪办"
answer = "请打{mayor}。"
category = "cats"
examples = ["今天天气不错"]
counter_examples = ["请问狗证在哪办"]

[entry.keywords]
"狗证" = 2.5

[[entry.patterns]]
regex = '(狗'
weight = 2

[[entry]]
id = "twice"
question = "q"
answer = "a"
examples = ["请问狗证在哪办"]

[entry.keywords]
"狗证" = 0

[[entry]]
id = "twice"
question = "q"
answer = "a"
"#;
    let dir = rules_with_answers(bad);
    let errors = errors_of(dir.path()).join("\n");
    for want in [
        "answers/bad.toml:2: entry id \"Dog-Licence\" must be lower-case",
        "answers/bad.toml:4: Dog-Licence: unknown placeholder {mayor}",
        "answers/bad.toml:5: Dog-Licence: unknown category \"cats\"",
        "answers/bad.toml:13: Dog-Licence: invalid regex",
        "answers/bad.toml:23: twice: weight 0 must be non-zero",
        "answers/bad.toml:26: duplicate entry id \"twice\"",
        "answers/bad.toml:26: twice: no keywords and no patterns",
    ] {
        assert!(errors.contains(want), "missing {want:?} in:\n{errors}");
    }

    // Examples are run once the entries themselves are sound.
    let examples = r#"[[entry]]
id = "dog_licence"
question = "狗证在哪办"
answer = "请到{police}办理。"
examples = ["今天天气不错", "草坪上全是狗屎没人管"]
counter_examples = ["请问狗证在哪办"]

[entry.keywords]
"狗证" = 2.5
"#;
    let dir = rules_with_answers(examples);
    let errors = errors_of(dir.path()).join("\n");
    for want in [
        "answers/bad.toml:5: example \"今天天气不错\" of dog_licence gets no answer",
        "answers/bad.toml:5: example \"草坪上全是狗屎没人管\" of dog_licence gets a ticket (dog)",
        "answers/bad.toml:6: counter-example \"请问狗证在哪办\" is answered with dog_licence",
    ] {
        assert!(errors.contains(want), "missing {want:?} in:\n{errors}");
    }

    // `gongdan rules check` fails on it and prints the same lines.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bad.toml:6: counter-example"), "{stdout}");
}

#[test]
fn status_questions_name_a_ticket_by_number_or_by_what_it_was_about() {
    let (rules, kb) = shipped();
    let status = |text: &str| match decide(&rules, &kb, text) {
        Decision::Inquiry(Response::TicketStatus(q)) => Some(q),
        _ => None,
    };
    for (text, n) in [
        ("3号工单处理了吗", 3),
        ("工单12怎么样了", 12),
        ("#25 有结果了吗", 25),
        ("请问编号 108 的工单有进展吗", 108),
    ] {
        assert_eq!(status(text).and_then(|q| q.number), Some(n), "{text}");
    }
    let q: StatusQuery = status("我反映的狗屎问题怎么样了").expect("a status question");
    assert_eq!(q.number, None);
    assert_eq!(q.categories.first().map(String::as_str), Some("dog"));
    // A building number is not a ticket number, and a report is no status question.
    assert!(status("3号楼门口的垃圾三天没人收了").is_none());
    assert!(status("草坪上全是狗屎没人清理").is_none());
}
