//! The `gongdan` binary as a user runs it: classify, rules check, eval.

use std::io::Write;
use std::process::{Command, Stdio};

fn gongdan() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongdan"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

#[test]
fn classify_json_reads_stdin_one_object_per_line() {
    let mut child = gongdan()
        .args(["classify", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("消防通道被车堵死了，5号楼这边\n早上好呀各位\n".as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["category"], "fire_lane");
    assert_eq!(lines[0]["location"], "5号楼");
    assert_eq!(lines[0]["priority"], "high");
    assert!(lines[0]["confidence"].as_f64().unwrap() > 0.5);
    assert!(!lines[0]["matches"].as_array().unwrap().is_empty());
    assert_eq!(lines[1]["text"], "早上好呀各位");
    assert!(lines[1]["category"].is_null());
    assert!(lines[1]["location"].is_null());
}

#[test]
fn classify_text_explains_contributions() {
    let out = gongdan()
        .args(["classify", "楼道里堆满了杂物没人管"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("category:   clutter"), "{text}");
    assert!(text.contains("complaint_cue"), "{text}");
}

#[test]
fn rules_check_passes_on_shipped_rules_and_fails_with_file_line() {
    let ok = gongdan().args(["rules", "check"]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("categories")).unwrap();
    std::fs::write(
        dir.path().join("categories/x.toml"),
        "id = \"x\"\nname = \"x\"\nthreshold = 1\n[[patterns]]\nregex = '(('\nweight = 1\n",
    )
    .unwrap();
    let bad = gongdan()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8(bad.stdout).unwrap();
    assert!(
        stdout.contains("categories/x.toml:5: invalid regex"),
        "{stdout}"
    );
}

#[test]
fn eval_prints_precision_recall_accuracy_and_misses() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("set.tsv");
    std::fs::write(
        &tsv,
        "# labels\ttext\nfire_lane\t消防通道被堵了\nnone\t早上好\ndog|noise\t楼道里有人烧垃圾\n",
    )
    .unwrap();
    let out = gongdan().arg("eval").arg(&tsv).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("precision"), "{text}");
    assert!(text.contains("recall"), "{text}");
    assert!(
        text.contains("category accuracy on complaints: 0.500 (1/2)"),
        "{text}"
    );
    assert!(text.contains("dog|noise -> open_burning"), "{text}");

    std::fs::write(&tsv, "nosuchcat\t你好\n").unwrap();
    let bad = gongdan().arg("eval").arg(&tsv).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("set.tsv:1: unknown category"));
}
