//! `gongdan rules check`, `rules reload`, `rules corrections`, `rules unanswered` and `gongdan eval`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::{NaiveDate, NaiveTime, Utc};
use clap::{Args, Subcommand};
use gongdan::answer::{eval as answer_eval, KnowledgeBase};
use gongdan::config::Config;
use gongdan::eval;
use gongdan::rules::{held_out, RuleErrors, RuleSet, Training};
use gongdan::ticket::{china_tz, correction, inquiry};

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Validate the rules and run every example and counter-example.
    Check {
        /// Rules directory.
        #[arg(default_value = "rules")]
        dir: PathBuf,
    },
    /// Ask the running service to reload its rules (`POST /api/rules/reload`).
    Reload {
        /// Config file: the service's address (server.bind) and server.api_token.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Service base URL (default: http://<server.bind>).
        #[arg(long)]
        url: Option<String>,
        /// Accept rules that remove a category which still has open tickets.
        #[arg(long)]
        allow_removed: bool,
    },
    /// Export what officers and residents corrected (`#改类`, `#投诉` the
    /// classifier missed, `#非投诉`) as `labels<TAB>text`, for `gongdan eval`
    /// and rules/corpus/.
    Corrections {
        /// Only corrections from this day on (YYYY-MM-DD, China time).
        #[arg(long)]
        since: Option<NaiveDate>,
        /// Data directory (default: the config's storage.data_dir).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Config file to read storage.data_dir from.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Export the city-management questions no knowledge-base entry answered
    /// as `time<TAB>platform<TAB>group<TAB>text` (China time, oldest first,
    /// phones masked), so admins see which entry to write next.
    Unanswered {
        /// Only questions from this day on (YYYY-MM-DD, China time).
        #[arg(long)]
        since: Option<NaiveDate>,
        /// Data directory (default: the config's storage.data_dir).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Config file to read storage.data_dir from.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct EvalArgs {
    /// Labelled messages: `labels<TAB>text`, labels = ids joined by `|`, or `none`.
    file: PathBuf,
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Measure only the file's held-out fifth, with a model trained without
    /// the held-out fifth of `rules/corpus/` (use on a corpus file).
    #[arg(long)]
    holdout: bool,
    /// Ablation: classify with the rules alone, the trained model silenced,
    /// to see what the model adds.
    #[arg(long)]
    no_model: bool,
    /// The file is a labelled questions file (`entry_id<TAB>text`, `none`,
    /// `ticket_status`): measure the knowledge base in `rules/answers/`.
    #[arg(long)]
    answers: bool,
}

fn print_errors(dir: &std::path::Path, errors: &RuleErrors) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for e in errors.iter() {
        writeln!(out, "{e}")?;
    }
    out.flush()?;
    eprintln!("{}: {} problem(s)", dir.display(), errors.len());
    Ok(ExitCode::FAILURE)
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Reload {
            config,
            url,
            allow_removed,
        } => reload(config, url, allow_removed),
        RulesCommand::Corrections {
            since,
            data,
            config,
        } => {
            let (_, store) = super::tickets::open_store(data, config.as_deref())?;
            let since = since.and_then(china_midnight);
            let corrections = store.corrections(since)?;
            let mut out = std::io::stdout().lock();
            out.write_all(correction::to_tsv(&corrections).as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Check { dir } => {
            let started = Instant::now();
            match RuleSet::load(&dir) {
                Ok(rules) => {
                    let kb = match KnowledgeBase::load(&rules) {
                        Ok(kb) => kb,
                        Err(errors) => return print_errors(&dir, &errors),
                    };
                    let entries = kb.entries();
                    let kb_examples: usize = entries.iter().map(|e| e.examples.len()).sum();
                    let kb_counter: usize = entries.iter().map(|e| e.counter_examples.len()).sum();
                    let cats = rules.categories();
                    let examples: usize = cats.iter().map(|c| c.examples.len()).sum();
                    let counter: usize =
                        cats.iter().map(|c| c.counter_examples.len()).sum::<usize>()
                            + rules.global_counter_examples().len();
                    writeln!(
                        std::io::stdout().lock(),
                        "{}: OK: {} categories, {} examples and {} counter-examples pass; \
                         {} answers, {} examples and {} counter-examples pass ({} ms)",
                        dir.display(),
                        cats.len(),
                        examples,
                        counter,
                        entries.len(),
                        kb_examples,
                        kb_counter,
                        started.elapsed().as_millis()
                    )?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => print_errors(&dir, &errors),
            }
        }
        RulesCommand::Unanswered {
            since,
            data,
            config,
        } => {
            let (_, store) = super::tickets::open_store(data, config.as_deref())?;
            let questions = store.unanswered(since.and_then(china_midnight))?;
            let mut out = std::io::stdout().lock();
            out.write_all(inquiry::to_tsv(&questions).as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The first instant of `day` in China time, as UTC.
fn china_midnight(day: NaiveDate) -> Option<chrono::DateTime<Utc>> {
    day.and_time(NaiveTime::MIN)
        .and_local_timezone(china_tz())
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn eval_answers(args: &EvalArgs, rules: &RuleSet, text: &str) -> anyhow::Result<ExitCode> {
    let kb = KnowledgeBase::load(rules).map_err(|errors| {
        anyhow::anyhow!("answers in {} do not load:\n{errors}", args.rules.display())
    })?;
    let samples = match answer_eval::parse_questions(text, &kb) {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                eprintln!("{}:{e}", args.file.display());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = answer_eval::evaluate_answers(rules, &kb, &samples);
    write!(std::io::stdout().lock(), "{report}")?;
    Ok(ExitCode::SUCCESS)
}

pub fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let rules = if args.holdout {
        RuleSet::load_with(&args.rules, Training::WithoutHeldOut).map_err(|errors| {
            anyhow::anyhow!("rules in {} do not load:\n{errors}", args.rules.display())
        })?
    } else {
        super::classify::load_rules(&args.rules)?
    };
    let rules = if args.no_model {
        rules.without_model()
    } else {
        rules
    };
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if args.answers {
        return eval_answers(&args, &rules, &text);
    }
    let samples = match eval::parse_tsv(&text, &rules) {
        Ok(mut s) => {
            if args.holdout {
                s.retain(|sample| held_out(&sample.text));
            }
            s
        }
        Err(errors) => {
            for e in errors {
                eprintln!("{}:{e}", args.file.display());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = eval::evaluate(&rules, &samples);
    write!(std::io::stdout().lock(), "{report}")?;
    Ok(ExitCode::SUCCESS)
}

fn reload(
    config: Option<PathBuf>,
    url: Option<String>,
    allow_removed: bool,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config.as_deref())?;
    let token = config
        .server
        .api_token
        .context("server.api_token is not set: the API (and so this command) is off")?;
    let base = url.unwrap_or_else(|| format!("http://{}", config.server.bind));
    let url = format!(
        "{}/api/rules/reload?allow_removed={allow_removed}",
        base.trim_end_matches('/')
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (status, body) = runtime.block_on(async {
        let resp = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token.expose())
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?;
        let status = resp.status();
        let body = resp.text().await.context("reading the answer")?;
        Ok::<_, anyhow::Error>((status, body))
    })?;
    writeln!(std::io::stdout().lock(), "{body}")?;
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        eprintln!("reload refused ({status})");
        ExitCode::FAILURE
    })
}
