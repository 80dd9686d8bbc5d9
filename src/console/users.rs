//! Console accounts: `<data>/console/users.toml`, argon2 password hashes, per-user API tokens.
//!
//! The file is written by `gongdan users …` and read by the server whenever it
//! changes (by modification time), so adding or removing a user needs no restart.
//! Passwords are stored only as argon2id PHC strings; API tokens only as their
//! SHA-256, so a copy of the file gives neither.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a console user may do. Officers and leaders act on tickets as in chat;
/// admins also act as chat admins (`#重载规则`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Officer,
    Leader,
    Admin,
}

impl StaffRole {
    pub fn parse(s: &str) -> Option<StaffRole> {
        match s.trim() {
            "officer" | "执法队员" | "队员" => Some(StaffRole::Officer),
            "leader" | "领导" | "负责人" => Some(StaffRole::Leader),
            "admin" | "管理员" => Some(StaffRole::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Officer => "officer",
            StaffRole::Leader => "leader",
            StaffRole::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Officer => "执法队员",
            StaffRole::Leader => "领导",
            StaffRole::Admin => "管理员",
        }
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: StaffRole,
    /// `platform:user_id`: the same person in chat, so console actions carry
    /// their chat identity and name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    /// A unit of `org.toml` (社区, 中队, 区…); none: the whole organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub password_hash: String,
    /// SHA-256 (hex) of each API token issued to this user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_hashes: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    #[serde(default, rename = "user")]
    users: Vec<User>,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The accounts as last read, and when the file was last changed.
#[derive(Debug, Clone, Default)]
pub struct Users {
    list: Vec<User>,
    modified: Option<SystemTime>,
}

/// Where the accounts of a data directory live.
pub fn users_path(data_dir: &Path) -> PathBuf {
    data_dir.join("console").join("users.toml")
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Users {
    /// Reads the file; a missing file is no users.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Users::default()),
            Err(source) => {
                return Err(UsersError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let file: UsersFile = toml::from_str(&text).map_err(|e| UsersError::Parse {
            path: path.to_path_buf(),
            line: e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].lines().count().max(1)
            }),
            message: e.message().to_string(),
        })?;
        let mut seen = std::collections::HashSet::new();
        for u in &file.users {
            if !seen.insert(u.name.as_str()) {
                return Err(UsersError::Invalid(format!(
                    "{}: user {:?} is listed twice",
                    path.display(),
                    u.name
                )));
            }
        }
        Ok(Users {
            list: file.users,
            modified: modified(path),
        })
    }

    /// Whether the file changed since this was read.
    pub fn is_stale(&self, path: &Path) -> bool {
        modified(path) != self.modified
    }

    /// Writes all accounts, replacing the file atomically, readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), UsersError> {
        let io = |source| UsersError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = UsersFile {
            users: self.list.clone(),
        };
        let text = format!(
            "# gongdan console accounts: edit with `gongdan users …`.\n\
             # Passwords are argon2id hashes, tokens SHA-256 hashes.\n\n{}",
            toml::to_string(&file).map_err(|e| UsersError::Invalid(e.to_string()))?
        );
        let tmp = path.with_extension("toml.tmp");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn all(&self) -> &[User] {
        &self.list
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.list.iter().find(|u| u.name == name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut User> {
        self.list.iter_mut().find(|u| u.name == name)
    }

    /// Adds a user, or replaces the one with that name (a password reset).
    pub fn upsert(&mut self, user: User) {
        match self.get_mut(&user.name) {
            Some(slot) => *slot = user,
            None => self.list.push(user),
        }
    }

    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.list.len();
        self.list.retain(|u| u.name != name);
        self.list.len() != before
    }

    /// The user holding this API token.
    pub fn by_token(&self, token: &str) -> Option<&User> {
        let sent = token_hash(token);
        self.list.iter().find(|u| {
            u.token_hashes
                .iter()
                .any(|h| crate::platform::signature::equal(h.as_bytes(), sent.as_bytes()))
        })
    }
}

/// The stored form of an API token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random secret, hex: session ids, CSRF tokens, API tokens.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Shortest password `users add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UsersError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UsersError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash (argon2's own constant-time check).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so a wrong name
/// takes as long as a wrong password and does not reveal which names exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn file_round_trips_and_bad_toml_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = users_path(dir.path());
        let mut users = Users::load(&path).unwrap();
        assert!(users.all().is_empty());
        users.upsert(User {
            name: "李明".into(),
            role: StaffRole::Officer,
            platform_id: Some("onebot:10001".into()),
            scope: Some("阳光社区".into()),
            password_hash: hash_password("12345678").unwrap(),
            token_hashes: vec![token_hash("tok")],
        });
        users.save(&path).unwrap();
        let back = Users::load(&path).unwrap();
        assert_eq!(back.all(), users.all());
        assert_eq!(back.by_token("tok").map(|u| u.name.as_str()), Some("李明"));
        assert!(back.by_token("other").is_none());

        std::fs::write(&path, "[[user]]\nname = \"a\"\nrole = \"chief\"\n").unwrap();
        let err = Users::load(&path).unwrap_err().to_string();
        assert!(err.contains("users.toml:"), "{err}");
    }
}
