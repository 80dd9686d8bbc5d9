//! `gongdan users …`: console accounts in `<data>/console/users.toml` (add, list, remove, token).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gongdan::config::Config;
use gongdan::console::users::{hash_password, random_token, token_hash, users_path};
use gongdan::console::{StaffRole, User, Users};

#[derive(Args)]
pub struct UsersArgs {
    /// Data directory (default: the config's storage.data_dir, `data`).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Config file to read storage.data_dir and org.path from.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a user, or set a new password for one (asks for the password).
    Add {
        name: String,
        /// officer, leader or admin.
        #[arg(long)]
        role: String,
        /// The same person in chat, `platform:user_id` (e.g. onebot:10001): console actions carry their name.
        #[arg(long)]
        platform_id: Option<String>,
        /// A unit of org.toml (社区, 中队, 区…) the user sees; none: everything.
        #[arg(long)]
        scope: Option<String>,
        /// Read the password from the first line of stdin (for scripts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users (never their passwords).
    List,
    /// Remove a user; their sessions end at once.
    Remove { name: String },
    /// Issue an API token for a user (printed once; the API sees their scope).
    Token {
        name: String,
        /// Revoke all of the user's tokens instead.
        #[arg(long)]
        revoke: bool,
    },
}

pub fn run(args: UsersArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let data = args.data.unwrap_or_else(|| config.storage.data_dir.clone());
    let path = users_path(&data);
    let mut users = Users::load(&path)?;
    let mut out = std::io::stdout().lock();
    match args.command {
        UsersCommand::Add {
            name,
            role,
            platform_id,
            scope,
            password_stdin,
        } => {
            let role = StaffRole::parse(&role)
                .with_context(|| format!("unknown role {role:?}: use officer, leader or admin"))?;
            let name = name.trim().to_string();
            if name.is_empty() || name.chars().any(char::is_control) {
                bail!("the user name must be a non-empty line of text");
            }
            check_org(&config, platform_id.as_deref(), scope.as_deref())?;
            let password = read_password(password_stdin)?;
            let previous = users.get(&name).cloned();
            users.upsert(User {
                name: name.clone(),
                role,
                platform_id,
                scope,
                password_hash: hash_password(&password)?,
                token_hashes: previous.map(|p| p.token_hashes).unwrap_or_default(),
            });
            users.save(&path)?;
            writeln!(
                out,
                "saved {name} ({}) in {}",
                role.as_str(),
                path.display()
            )?;
        }
        UsersCommand::List => {
            if users.all().is_empty() {
                writeln!(
                    out,
                    "no users yet: add one with `gongdan users add NAME --role admin`"
                )?;
            }
            for u in users.all() {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{} token(s)",
                    u.name,
                    u.role.as_str(),
                    u.platform_id.as_deref().unwrap_or("-"),
                    u.scope.as_deref().unwrap_or("(all)"),
                    u.token_hashes.len()
                )?;
            }
        }
        UsersCommand::Remove { name } => {
            if !users.remove(&name) {
                bail!("no user {name:?} in {}", path.display());
            }
            users.save(&path)?;
            writeln!(out, "removed {name}")?;
        }
        UsersCommand::Token { name, revoke } => {
            let user = users
                .get_mut(&name)
                .with_context(|| format!("no user {name:?} in {}", path.display()))?;
            if revoke {
                user.token_hashes.clear();
                users.save(&path)?;
                writeln!(out, "revoked every token of {name}")?;
            } else {
                let token = format!("gd_{}", random_token(24));
                user.token_hashes.push(token_hash(&token));
                users.save(&path)?;
                writeln!(out, "{token}")?;
                eprintln!("API token for {name}: shown once, stored only as a hash");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The scope must name a unit of org.toml, and the platform id a person it lists (or a configured officer).
fn check_org(
    config: &Config,
    platform_id: Option<&str>,
    scope: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(id) = platform_id {
        if !id.contains(':') || id.starts_with(':') || id.ends_with(':') {
            bail!("--platform-id {id:?}: use platform:user_id, e.g. onebot:10001");
        }
    }
    let org = match &config.org.path {
        Some(p) => {
            Some(gongdan::org::load(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    if let Some(name) = scope {
        match &org {
            Some(o) if o.find(name).is_some() => {}
            Some(o) => bail!(
                "--scope {name:?} is not a unit of {}",
                o.source
                    .as_deref()
                    .map_or("org.toml".into(), |p: &Path| p.display().to_string())
            ),
            None => {
                bail!("--scope needs an org.toml: set [org] path in the config (--config FILE)")
            }
        }
    }
    if let Some(id) = platform_id {
        let staff = config
            .roles
            .officers
            .iter()
            .chain(&config.roles.admins)
            .any(|k| k == id)
            || org.as_ref().is_some_and(|o| o.is_member(id));
        if !staff {
            bail!("--platform-id {id} is not an officer in the config's roles or in org.toml: a resident's chat id cannot be a console user");
        }
    }
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            bail!("no password on stdin");
        }
        return Ok(pw);
    }
    let pw = rpassword::prompt_password("password: ")?;
    let again = rpassword::prompt_password("again: ")?;
    if pw != again {
        bail!("the passwords differ");
    }
    Ok(pw)
}
