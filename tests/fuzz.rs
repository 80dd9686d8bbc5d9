//! Property tests over arbitrary and mutated input: the classifier, the rule
//! loader, the dictionary parser and the plain-JSON webhook parser never panic
//! and never hang. `GONGDAN_FUZZ_CASES=N` scales every case count for a long run.

use std::path::Path;
use std::sync::OnceLock;

use axum::http::{HeaderMap, Method};
use gongdan::classify::classify;
use gongdan::config::GenericConfig;
use gongdan::platform::generic::Generic;
use gongdan::platform::RawRequest;
use gongdan::rules::RuleSet;
use proptest::prelude::*;

fn shipped() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        RuleSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .expect("shipped rules load")
    })
}

/// Text that looks like group chat: CJK, digits, full-width forms, emoji,
/// mentions, URLs, stickers and stray punctuation.
fn chatty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[\u{4e00}-\u{9fa5}]{1,8}",
        "[0-9０-９]{1,3}(号楼|栋|单元|层)?",
        "[😀-🙏🔥💩🐶]{1,3}",
        "@[a-z\u{4e00}-\u{9fa5}]{1,6}[ \u{2005}]?",
        "https?://[a-z./]{1,20}",
        "\\[[\u{4e00}-\u{9fa5}]{1,3}\\]",
        "[，。！？!?、…~ 　#＃/]{1,3}",
        ".{1,4}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn ids(rules: &RuleSet) -> Vec<String> {
    rules.categories().iter().map(|c| c.id.clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(gongdan::fuzz_cases(512)))]

    #[test]
    fn classifier_survives_arbitrary_text(text in ".{0,300}") {
        let rules = shipped();
        let c = classify(rules, &text);
        prop_assert!((0.0..=1.0).contains(&c.confidence));
        if let Some(id) = &c.category {
            prop_assert!(ids(rules).contains(id));
        }
    }

    #[test]
    fn classifier_survives_chat_like_text(text in chatty()) {
        let c = classify(shipped(), &text);
        prop_assert!((0.0..=1.0).contains(&c.confidence));
    }

    #[test]
    fn classifier_survives_mutated_examples(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 0..6),
    ) {
        let rules = shipped();
        let all: Vec<&str> = rules.categories().iter().flat_map(|c| c.examples.iter().map(|e| e.text.as_str())).collect();
        let mut chars: Vec<char> = pick.get(&all).chars().collect();
        for (at, ch) in edits {
            let i = at.index(chars.len() + 1);
            chars.insert(i, ch);
        }
        let text: String = chars.into_iter().collect();
        let _ = classify(rules, &text);
    }

    #[test]
    fn generic_parser_survives_arbitrary_bodies(body in prop::collection::vec(any::<u8>(), 0..600), sig in ".{0,80}") {
        for secret in [None, Some("s3cret")] {
            let config = GenericConfig {
                enabled: true,
                secret: secret.map(gongdan::config::Secret::new),
                reply_url: None,
            };
            let mut headers = HeaderMap::new();
            if let Ok(v) = sig.parse() {
                headers.insert("x-gongdan-signature", v);
            }
            let req = RawRequest { method: Method::POST, headers, query: Default::default(), body: body.clone().into() };
            let _ = Generic::new(&config).parse(&req, 0);
        }
    }

    #[test]
    fn generic_parser_survives_mutated_json(
        field in 0usize..8,
        value in prop_oneof![Just("null".to_string()), Just("[]".to_string()), Just("{}".to_string()),
            "-?[0-9]{1,25}", "\"[^\"\\\\]{0,20}\"", Just("1e999".to_string()), Just("\"\\ud800\"".to_string())],
    ) {
        let fields = ["message_id", "group_id", "group_name", "sender_id", "sender_name", "text", "images", "timestamp"];
        let mut obj = serde_json::json!({"message_id":"m","group_id":"g","sender_id":"u","text":"消防通道被堵了"});
        let body = match serde_json::from_str::<serde_json::Value>(&value) {
            Ok(v) => { obj[fields[field]] = v; obj.to_string() }
            Err(_) => format!("{{\"{}\": {value}, \"text\": \"x\"}}", fields[field]),
        };
        let req = RawRequest { method: Method::POST, headers: HeaderMap::new(), query: Default::default(), body: body.into_bytes().into() };
        let _ = Generic::new(&GenericConfig::default()).parse(&req, 0);
    }
}

const GLOBAL: &str = "locations = ['\\d+号楼']\ncounter_examples = [\"早上好\"]\n[complaint.keywords]\n\"没人管\" = 1.5\n";

fn dog_file() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/categories/dog.toml"))
        .unwrap()
}

/// A mutation of a rule file the way a hurried admin might make it.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    InsertLine(prop::sample::Index, String),
    FlipByte(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let fragment = prop_oneof![
        Just("[keywords]".to_string()),
        Just("[[patterns]]".to_string()),
        Just("regex = '(('".to_string()),
        Just("weight = -3".to_string()),
        Just("threshold = \"x\"".to_string()),
        Just("examples = [\"今天天气不错\"]".to_string()),
        Just("\"狗\" = 1e308".to_string()),
        Just("reply = \"{nope}\"".to_string()),
        "[a-z_]{1,10} = [0-9]{1,3}",
        "\"[\u{4e00}-\u{9fa5}]{1,4}\" = [0-9.]{1,4}",
        ".{0,30}",
    ];
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Edit::DeleteLine),
        any::<prop::sample::Index>().prop_map(Edit::DuplicateLine),
        (any::<prop::sample::Index>(), fragment).prop_map(|(i, f)| Edit::InsertLine(i, f)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::FlipByte(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut bytes_edits = Vec::new();
    for e in edits {
        match e {
            Edit::DeleteLine(i) if !lines.is_empty() => {
                let i = i.index(lines.len());
                lines.remove(i);
            }
            Edit::DuplicateLine(i) if !lines.is_empty() => {
                let i = i.index(lines.len());
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            Edit::InsertLine(i, f) => {
                let i = i.index(lines.len() + 1);
                lines.insert(i, f.clone());
            }
            other => bytes_edits.push(other.clone()),
        }
    }
    let mut bytes = lines.join("\n").into_bytes();
    for e in bytes_edits {
        match e {
            Edit::FlipByte(i, b) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
            Edit::Truncate(i) => bytes.truncate(i.index(bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

proptest! {
    // Each successful load builds a jieba dictionary (a few hundred ms), so
    // the default run is short; GONGDAN_FUZZ_CASES scales it.
    #![proptest_config(ProptestConfig::with_cases(gongdan::fuzz_cases(32)))]

    #[test]
    fn rule_loader_survives_mutated_files(edits in prop::collection::vec(edit(), 1..5), dict in ".{0,40}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("categories")).unwrap();
        std::fs::write(dir.path().join("global.toml"), GLOBAL).unwrap();
        std::fs::write(dir.path().join("dict.txt"), dict).unwrap();
        let bytes = apply(&dog_file(), &edits);
        let line_count = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        std::fs::write(dir.path().join("categories/dog.toml"), &bytes).unwrap();
        if let Err(errors) = RuleSet::load(dir.path()) {
            prop_assert!(!errors.is_empty());
            for e in errors.iter() {
                prop_assert!(!e.message.is_empty(), "empty message in {e:?}");
                if e.file.ends_with("dog.toml") {
                    prop_assert!(e.line <= line_count + 1, "{e} beyond {line_count} lines");
                }
            }
        }
    }
}

#[test]
fn a_message_at_the_body_limit_classifies() {
    // The webhook refuses bodies over 64 KiB; the largest text it lets through
    // still classifies (no quadratic blow-up in normalising or matching).
    let text: String = "楼道里堆满了纸箱没人管🔥@张三 ".repeat(64 * 1024 / 40);
    let c = classify(shipped(), &text);
    assert_eq!(c.category.as_deref(), Some("clutter"));
}
