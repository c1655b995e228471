//! The age key pair of backups: `staffgate backup --keygen` writes the private key (an
//! identity) to a file of its own, and `restore` reads it back. The public key
//! (`STAFFGATE_BACKUP_RECIPIENT`) is all a server needs to write backups.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use age::secrecy::ExposeSecret;
use chrono::{DateTime, Utc};

use super::BackupError;
use crate::config::secret_file;
use crate::services::clock::JST;

/// Writes a new identity to `path` (which must not exist) with mode 0600, in the format of
/// `age-keygen`; returns its public key.
pub fn keygen(path: &Path, now: DateTime<Utc>) -> Result<age::x25519::Recipient, BackupError> {
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => BackupError::Exists(path.to_owned()),
            _ => BackupError::Io(format!("{}: {e}", path.display())),
        })?;
    let text = format!(
        "# created: {}\n# public key: {public}\n{}\n",
        now.with_timezone(&JST)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        identity.to_string().expose_secret()
    );
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))?;
    Ok(public)
}

/// The X25519 identities in an age identity file (as `age-keygen` or `staffgate backup
/// --keygen` write it); the file must be its owner's alone (no group or other permission).
pub fn read_identities(path: &Path) -> Result<Vec<age::x25519::Identity>, BackupError> {
    let bad = |why: &str| BackupError::Identity(format!("{}: {why}", path.display()));
    if let Some(problem) = secret_file::open_to_others("--identity", path) {
        return Err(BackupError::Identity(problem));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_string(&mut text))
        .map_err(|e| bad(&e.to_string()))?;
    let identities = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.parse::<age::x25519::Identity>())
        .collect::<Result<Vec<_>, _>>()
        // The parse error may quote the line: it is never shown.
        .map_err(|_| bad("not an age identity file (AGE-SECRET-KEY-1...)"))?;
    if identities.is_empty() {
        return Err(bad("no identity in the file"));
    }
    Ok(identities)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_generated_key_file_is_private_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("sg-keygen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("backup.key");
        let _ = std::fs::remove_file(&path);
        let public = keygen(&path, DateTime::UNIX_EPOCH).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let read = read_identities(&path).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].to_public(), public);
        assert!(matches!(
            keygen(&path, DateTime::UNIX_EPOCH),
            Err(BackupError::Exists(_))
        ));

        for mode in [0o644, 0o640, 0o620, 0o604] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let Err(refused) = read_identities(&path) else {
                panic!("a key file others may use is refused ({mode:o})");
            };
            let refused = refused.message().1;
            assert!(refused.contains("chmod 600"), "{refused}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(read_identities(&path).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
