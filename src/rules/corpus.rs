//! `rules/corpus/*.tsv`: labelled messages the model learns from (`labels<TAB>text`,
//! the format of `gongdan eval`), read with `file:line` errors like every rule file.

use std::fs;
use std::path::{Path, PathBuf};

use super::{held_out, RuleError, Training};

/// One corpus message: its first label's category index (`None`: not a complaint).
pub(super) struct Labelled {
    pub class: Option<usize>,
    pub text: String,
}

/// Every message of every `*.tsv` in `dir/corpus`, files in name order. A
/// missing directory is an empty corpus.
pub(super) fn read(
    dir: &Path,
    category_ids: &[&str],
    training: Training,
    errors: &mut Vec<RuleError>,
) -> Vec<Labelled> {
    let corpus_dir = dir.join("corpus");
    let mut files: Vec<PathBuf> = match fs::read_dir(&corpus_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            errors.push(RuleError::new(&corpus_dir, 0, format!("cannot read: {e}")));
            return Vec::new();
        }
    };
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(RuleError::new(&path, 0, format!("cannot read: {e}")));
                continue;
            }
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_start_matches('\u{feff}');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((labels, msg)) = line.split_once('\t') else {
                errors.push(RuleError::new(&path, i + 1, "expected `labels<TAB>text`"));
                continue;
            };
            if msg.trim().is_empty() {
                errors.push(RuleError::new(&path, i + 1, "message is empty"));
                continue;
            }
            let mut class = None;
            let mut known = true;
            if labels.trim() != "none" {
                for (n, label) in labels.split('|').map(str::trim).enumerate() {
                    match category_ids.iter().position(|id| *id == label) {
                        Some(c) if n == 0 => class = Some(c),
                        Some(_) => {}
                        None => {
                            errors.push(RuleError::new(
                                &path,
                                i + 1,
                                format!("unknown category {label:?}"),
                            ));
                            known = false;
                        }
                    }
                }
            }
            if known && !(training == Training::WithoutHeldOut && held_out(msg)) {
                out.push(Labelled {
                    class,
                    text: msg.to_string(),
                });
            }
        }
    }
    out
}
