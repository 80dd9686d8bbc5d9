//! `gongdan classify`: one verdict per message, as text with reasons or as JSON lines.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use gongdan::classify::{classify, Classification};
use gongdan::rules::RuleSet;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args)]
pub struct ClassifyArgs {
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Messages; with none, one message per line is read from stdin.
    text: Vec<String>,
}

/// Load rules for a command that needs them; errors come back as `file:line` lines.
pub fn load_rules(dir: &Path) -> anyhow::Result<RuleSet> {
    RuleSet::load(dir)
        .map_err(|errors| anyhow::anyhow!("rules in {} do not load:\n{errors}", dir.display()))
}

pub fn run(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut emit = |text: &str| -> anyhow::Result<()> {
        let c = classify(&rules, text);
        match args.format {
            Format::Json => writeln!(out, "{}", serde_json::to_string(&c)?)?,
            Format::Text => write_text(&mut out, &rules, &c)?,
        }
        Ok(())
    };
    if args.text.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if !line.trim().is_empty() {
                emit(&line)?;
            }
        }
    } else {
        for t in &args.text {
            emit(t)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_text(out: &mut impl Write, rules: &RuleSet, c: &Classification) -> std::io::Result<()> {
    writeln!(out, "{}", c.text)?;
    match &c.category {
        Some(id) => {
            let cat = rules.category(id);
            writeln!(
                out,
                "  category:   {id} {}  score {:.1} (threshold {:.1})  confidence {:.2}",
                cat.map_or("", |c| c.name.as_str()),
                c.score,
                cat.map_or(0.0, |c| c.threshold),
                c.confidence
            )?;
            writeln!(out, "  priority:   {}", c.priority)?;
            writeln!(
                out,
                "  location:   {}",
                c.location.as_deref().unwrap_or("-")
            )?;
        }
        None => writeln!(
            out,
            "  category:   none (not a complaint)  confidence {:.2}",
            c.confidence
        )?,
    }
    if !c.candidates.is_empty() {
        let list: Vec<String> = c
            .candidates
            .iter()
            .map(|k| format!("{} {:.1}/{:.1}", k.category, k.score, k.threshold))
            .collect();
        writeln!(out, "  candidates: {}", list.join(", "))?;
    }
    for m in &c.matches {
        writeln!(
            out,
            "  {:>+6.1}  {:<13} {}{}",
            m.weight,
            m.kind,
            m.term,
            m.category
                .as_deref()
                .map(|c| format!("  [{c}]"))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "  words:      {}", c.tokens.join("/"))?;
    Ok(())
}
