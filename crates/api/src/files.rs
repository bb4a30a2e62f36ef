//! The API's files under `<data_dir>/api/`: the trader token (`trader.token`), the admin password's Argon2id
//! hash (`admin.argon2`) and the address the server is bound to (`endpoint`, for local clients).
//!
//! On unix the directory is created 0700 and every file 0600 (written to a temporary file with that mode,
//! then renamed, so a secret is never readable by others, not even for an instant). A token or hash file that
//! group or others can read is refused when it is read: a leaked trader token would let anyone on the
//! machine read the accounts. No error message ever contains a secret, only paths.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The minimum length (in characters) of an admin password.
pub const MIN_PASSWORD_LEN: usize = 8;

/// A problem with the API's files.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is readable by group or others (mode {mode:04o}); it holds a secret: `chmod 600 {path}` (or delete it to get a new one)"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path} is empty or malformed")]
    Malformed { path: PathBuf },
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
}

/// Why `set_admin_password` refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("an admin password is already set: the old password is required to change it")]
    OldRequired,
    #[error("the old password is wrong")]
    WrongOld,
    #[error("the new password is too short (at least {MIN_PASSWORD_LEN} characters)")]
    TooShort,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    File(#[from] FileError),
}

/// `<data_dir>/api`.
pub fn api_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("api")
}

/// `<data_dir>/api/endpoint`: the `host:port` the server listens on.
pub fn endpoint_path(data_dir: &Path) -> PathBuf {
    api_dir(data_dir).join("endpoint")
}

/// `<data_dir>/api/trader.token`.
pub fn trader_token_path(data_dir: &Path) -> PathBuf {
    api_dir(data_dir).join("trader.token")
}

/// `<data_dir>/api/admin.argon2`.
pub fn admin_hash_path(data_dir: &Path) -> PathBuf {
    api_dir(data_dir).join("admin.argon2")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create `<data_dir>/api` (0700 on unix) if missing.
pub fn ensure_api_dir(data_dir: &Path) -> Result<PathBuf, FileError> {
    let dir = api_dir(data_dir);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;
    }
    Ok(dir)
}

/// Write `contents` to `path` with mode 0600 (unix), atomically (temporary file + rename).
pub fn write_private(path: &Path, contents: &str) -> Result<(), FileError> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io_err(&tmp))?;
    file.write_all(contents.as_bytes()).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// Read a secret file, refusing it (on unix) when group or others may read it.
pub fn read_private(path: &Path) -> Result<String, FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(io_err(path))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(FileError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    fs::read_to_string(path).map_err(io_err(path))
}

/// `n` random bytes from the OS, as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, FileError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| FileError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The trader token: read from `trader.token`, or generated (32 random bytes, hex) and written 0600 when the
/// file does not exist yet.
pub fn load_or_create_trader_token(data_dir: &Path) -> Result<String, FileError> {
    ensure_api_dir(data_dir)?;
    let path = trader_token_path(data_dir);
    if !path.exists() {
        let token = random_hex(32)?;
        write_private(&path, &format!("{token}\n"))?;
        return Ok(token);
    }
    read_trader_token(data_dir)
}

/// Read an existing trader token (refused when the file is readable by group or others).
pub fn read_trader_token(data_dir: &Path) -> Result<String, FileError> {
    let path = trader_token_path(data_dir);
    let token = read_private(&path)?.trim().to_owned();
    if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(FileError::Malformed { path });
    }
    Ok(token)
}

/// The admin password's PHC hash, `None` when no admin password was ever set.
pub fn read_admin_hash(data_dir: &Path) -> Result<Option<String>, FileError> {
    let path = admin_hash_path(data_dir);
    if !path.exists() {
        return Ok(None);
    }
    let hash = read_private(&path)?.trim().to_owned();
    if PasswordHash::new(&hash).is_err() {
        return Err(FileError::Malformed { path });
    }
    Ok(Some(hash))
}

/// Whether `password` matches the PHC `hash` (slow on purpose: call it off the async runtime).
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hash `password` as Argon2id (the argon2 crate's default, OWASP-recommended parameters) with a random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| FileError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default());
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Set (or change) the admin password: `old` is required, and must match, when a password is already set;
/// `new` must have at least [`MIN_PASSWORD_LEN`] characters. Writes `admin.argon2` (0600). A running server
/// reads the hash at every login, so the change takes effect at once.
///
/// # Errors
/// [`PasswordError`]: the old password missing or wrong, the new one too short, or the file not writable.
pub fn set_admin_password(
    data_dir: &Path,
    old: Option<&str>,
    new: &str,
) -> Result<(), PasswordError> {
    if let Some(hash) = read_admin_hash(data_dir)? {
        let old = old.ok_or(PasswordError::OldRequired)?;
        if !verify_password(&hash, old) {
            return Err(PasswordError::WrongOld);
        }
    }
    if new.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    let hash = hash_password(new)?;
    ensure_api_dir(data_dir)?;
    write_private(&admin_hash_path(data_dir), &format!("{hash}\n"))?;
    Ok(())
}
