//! Stored credentials: a login's gateway user name and API key, kept together in one file per credential
//! under `<config dir>/credentials/`, which `accounts.yaml` names with `credential: NAME`.
//!
//! Who can read them: on Unix the directory is 0700 and each file 0600, owned by whoever ran
//! `riskguard credentials set` (root for the service), and a file that group or others could read is refused
//! on load; the systemd unit hands them to the unprivileged service user with
//! `LoadCredential=riskguard:<dir>`, so the daemon finds them as `$CREDENTIALS_DIRECTORY/riskguard_NAME`. On
//! Windows the file is encrypted with DPAPI in machine scope (useless on another machine) and its ACL grants
//! only SYSTEM (the service's account) and Administrators. The secret never reaches `Debug`, a log line or an
//! error: errors name the credential, the path and the kind of failure, never a byte of the contents.

use std::fmt;
use std::path::{Path, PathBuf};

/// The id prefix of the systemd `LoadCredential=` line: a directory loads as `riskguard_<file name>`.
pub const SYSTEMD_ID: &str = "riskguard";
/// The environment variable systemd sets to the directory of the loaded credentials.
pub const SYSTEMD_DIR_VAR: &str = "CREDENTIALS_DIRECTORY";

/// A gateway user name and API key. `Debug` prints `***` for both.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredCredential {
    user_name: String,
    api_key: String,
}

impl StoredCredential {
    pub fn new(user_name: impl Into<String>, api_key: impl Into<String>) -> StoredCredential {
        StoredCredential {
            user_name: user_name.into(),
            api_key: api_key.into(),
        }
    }

    pub fn user_name(&self) -> &str {
        &self.user_name
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("user_name", &"***")
            .field("api_key", &"***")
            .finish()
    }
}

/// Why a credential cannot be stored or read. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "no stored credential `{name}` (looked in {looked}); store it with `riskguard credentials set --login {name} --config-dir {config_dir}`"
    )]
    Missing {
        name: String,
        looked: String,
        config_dir: String,
    },
    #[error("`{0}` is not a credential name (1 to 64 letters, digits, `.`, `_`, `-`)")]
    BadName(String),
    #[error(
        "credential file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}` or store it again"
    )]
    TooOpen { path: String, mode: u32 },
    #[error("credential file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("cannot store the credential in {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("the user name and the API key must not be empty")]
    Empty,
}

/// Where credentials are stored and looked for.
#[derive(Debug, Clone)]
pub struct Store {
    config_dir: PathBuf,
    dir: PathBuf,
    /// `$CREDENTIALS_DIRECTORY` under systemd: looked in first.
    systemd_dir: Option<PathBuf>,
}

impl Store {
    /// The store of a config dir, with the systemd credentials directory from the environment.
    pub fn for_config_dir(config_dir: &Path) -> Store {
        let systemd_dir = std::env::var_os(SYSTEMD_DIR_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Store::new(config_dir, systemd_dir)
    }

    /// The store of a config dir, with an explicit systemd credentials directory (tests).
    pub fn new(config_dir: &Path, systemd_dir: Option<PathBuf>) -> Store {
        Store {
            config_dir: config_dir.to_path_buf(),
            dir: dir_of(config_dir),
            systemd_dir,
        }
    }

    /// The directory credentials are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file credential `name` is (or would be) stored in.
    pub fn path(&self, name: &str) -> Result<PathBuf, CredentialError> {
        check_name(name)?;
        Ok(self.dir.join(name))
    }

    /// The names of the stored credentials, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| config::valid_credential_name(n))
            .collect();
        names.sort();
        names
    }

    /// Read credential `name`: from systemd's credentials directory if the service runs under one, else from
    /// the store.
    pub fn load(&self, name: &str) -> Result<StoredCredential, CredentialError> {
        check_name(name)?;
        let mut looked = Vec::new();
        if let Some(dir) = &self.systemd_dir {
            let path = dir.join(format!("{SYSTEMD_ID}_{name}"));
            if path.exists() {
                return read(&path);
            }
            looked.push(path.display().to_string());
        }
        let path = self.dir.join(name);
        if path.exists() {
            return read(&path);
        }
        looked.push(path.display().to_string());
        Err(CredentialError::Missing {
            name: name.to_string(),
            looked: looked.join(", "),
            config_dir: self.config_dir.display().to_string(),
        })
    }

    /// Store credential `name` so that only its owner (Unix) or SYSTEM and Administrators (Windows) can read
    /// it. Replaces an existing one atomically. Returns the file written.
    pub fn save(&self, name: &str, cred: &StoredCredential) -> Result<PathBuf, CredentialError> {
        check_name(name)?;
        if cred.user_name.trim().is_empty() || cred.api_key.trim().is_empty() {
            return Err(CredentialError::Empty);
        }
        let path = self.dir.join(name);
        let write_err = |p: &Path, e: std::io::Error| CredentialError::Write {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        platform::create_private_dir(&self.dir).map_err(|e| write_err(&self.dir, e))?;
        let bytes = serde_json::to_vec(cred).map_err(|e| CredentialError::Write {
            path: path.display().to_string(),
            reason: format!("cannot encode: {}", e.classify_name()),
        })?;
        let sealed = platform::seal(&bytes).map_err(|e| write_err(&path, e))?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        platform::write_private(&tmp, &sealed).map_err(|e| write_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| write_err(&path, e))?;
        platform::restrict(&path).map_err(|e| write_err(&path, e))?;
        Ok(path)
    }
}

/// `<config dir>/credentials`.
pub fn dir_of(config_dir: &Path) -> PathBuf {
    config_dir.join("credentials")
}

fn check_name(name: &str) -> Result<(), CredentialError> {
    if config::valid_credential_name(name) {
        Ok(())
    } else {
        Err(CredentialError::BadName(name.to_string()))
    }
}

fn read(path: &Path) -> Result<StoredCredential, CredentialError> {
    let unreadable = |reason: String| CredentialError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    platform::check_private(path)?;
    let sealed = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let bytes = platform::unseal(&sealed, path).map_err(|e| unreadable(e.to_string()))?;
    let cred: StoredCredential = serde_json::from_slice(&bytes)
        .map_err(|_| unreadable("not a riskguard credential file (store it again)".into()))?;
    if cred.user_name.is_empty() || cred.api_key.is_empty() {
        return Err(unreadable(
            "the user name or the API key is empty (store it again)".into(),
        ));
    }
    Ok(cred)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "i/o",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}

#[cfg(unix)]
mod platform {
    //! Unix: owner-only permissions; the bytes are stored as they are.

    use std::fs::{DirBuilder, OpenOptions, Permissions};
    use std::io::{self, Write};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    use super::CredentialError;

    pub fn create_private_dir(dir: &Path) -> io::Result<()> {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, Permissions::from_mode(0o700))
    }

    pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let _ = std::fs::remove_file(path);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.set_permissions(Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    pub fn restrict(path: &Path) -> io::Result<()> {
        std::fs::set_permissions(path, Permissions::from_mode(0o600))
    }

    /// Refuse a file that group or others may read or write (as ssh does with keys).
    pub fn check_private(path: &Path) -> Result<(), CredentialError> {
        let meta = std::fs::metadata(path).map_err(|e| CredentialError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CredentialError::TooOpen {
                path: path.display().to_string(),
                mode,
            });
        }
        Ok(())
    }

    pub fn seal(bytes: &[u8]) -> io::Result<Vec<u8>> {
        Ok(bytes.to_vec())
    }

    pub fn unseal(bytes: &[u8], _path: &Path) -> io::Result<Vec<u8>> {
        Ok(bytes.to_vec())
    }
}

#[cfg(windows)]
mod platform {
    //! Windows: DPAPI in machine scope, and an ACL of SYSTEM and Administrators only (set with `icacls`,
    //! by well-known SIDs so that it works in every language).

    use std::io::{self, Write};
    use std::path::Path;
    use std::process::Command;

    use super::CredentialError;

    /// SYSTEM (`S-1-5-18`), the account the service runs as, and the Administrators group (`S-1-5-32-544`).
    const GRANTS: [&str; 2] = ["*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"];

    fn icacls(path: &Path, grants: &[&str]) -> io::Result<()> {
        let mut cmd = Command::new("icacls");
        cmd.arg(path).arg("/inheritance:r");
        for g in grants {
            cmd.arg("/grant:r").arg(g);
        }
        let out = cmd.output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "icacls failed: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            )))
        }
    }

    pub fn create_private_dir(dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        icacls(dir, &GRANTS)
    }

    pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let _ = std::fs::remove_file(path);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    pub fn restrict(path: &Path) -> io::Result<()> {
        icacls(path, &["*S-1-5-18:F", "*S-1-5-32-544:F"])
    }

    /// The ACL is what keeps other users out; reading is attempted and fails with "access denied" for them.
    pub fn check_private(_path: &Path) -> Result<(), CredentialError> {
        Ok(())
    }

    pub fn seal(bytes: &[u8]) -> io::Result<Vec<u8>> {
        windows_dpapi::encrypt_data(bytes, windows_dpapi::Scope::Machine, None)
            .map_err(|e| io::Error::other(format!("DPAPI encryption failed: {e}")))
    }

    pub fn unseal(bytes: &[u8], _path: &Path) -> io::Result<Vec<u8>> {
        windows_dpapi::decrypt_data(bytes, windows_dpapi::Scope::Machine, None).map_err(|_| {
            io::Error::other("DPAPI cannot decrypt it (stored on another machine?); store it again")
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const KEY: &str = "sk-UNIT-SECRET-9911";

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rg-cred-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn saved_then_loaded_and_never_printed() {
        let cfg = temp("roundtrip");
        let store = Store::new(&cfg, None);
        let cred = StoredCredential::new("trader", KEY);
        let path = store.save("main", &cred).unwrap();
        assert_eq!(path, cfg.join("credentials").join("main"));
        assert_eq!(store.load("main").unwrap(), cred);
        assert_eq!(store.names(), vec!["main".to_string()]);
        let shown = format!("{cred:?} {:?}", store.load("main"));
        assert!(!shown.contains(KEY) && !shown.contains("trader"), "{shown}");
        // Stored again: replaced, no temporary file left.
        store
            .save("main", &StoredCredential::new("other", "k2"))
            .unwrap();
        assert_eq!(store.load("main").unwrap().user_name(), "other");
        assert_eq!(store.names(), vec!["main".to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn only_the_owner_can_read_it() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let cfg = temp("mode");
        let store = Store::new(&cfg, None);
        let path = store
            .save("main", &StoredCredential::new("trader", KEY))
            .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(store.dir()).unwrap().mode() & 0o777,
            0o700
        );
        // A file someone made readable to others is refused, without its contents in the error.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.load("main").unwrap_err();
        assert!(matches!(err, CredentialError::TooOpen { mode: 0o644, .. }));
        assert!(!err.to_string().contains(KEY));
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_missing_credential_names_itself_and_the_fixing_command() {
        let cfg = temp("missing");
        let err = Store::new(&cfg, None).load("funded").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, CredentialError::Missing { .. }));
        assert!(
            text.contains(&format!(
                "riskguard credentials set --login funded --config-dir {}",
                cfg.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn systemd_credentials_directory_comes_first() {
        let cfg = temp("systemd");
        let sd = temp("systemd-creds");
        let store = Store::new(&cfg, Some(sd.clone()));
        store
            .save("main", &StoredCredential::new("from-store", "a"))
            .unwrap();
        assert_eq!(store.load("main").unwrap().user_name(), "from-store");
        // What systemd's LoadCredential=riskguard:<dir> makes of the file.
        std::fs::copy(cfg.join("credentials/main"), sd.join("riskguard_main")).unwrap();
        Store::new(&cfg, None)
            .save("main", &StoredCredential::new("changed", "b"))
            .unwrap();
        assert_eq!(store.load("main").unwrap().user_name(), "from-store");
    }

    #[test]
    fn bad_names_and_empty_secrets_are_refused() {
        let store = Store::new(&temp("bad"), None);
        assert!(matches!(
            store.save("../x", &StoredCredential::new("u", "k")),
            Err(CredentialError::BadName(_))
        ));
        assert!(matches!(
            store.save("ok", &StoredCredential::new("u", " ")),
            Err(CredentialError::Empty)
        ));
        assert!(matches!(
            store.load("a/b"),
            Err(CredentialError::BadName(_))
        ));
    }
}
