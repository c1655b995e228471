//! The rules for files that hold a secret: every `*_FILE` variable gives no permission at all
//! to users outside the file's owner and group (a service may read its secrets through a
//! group); the backup identity, which opens every backup, is its owner's alone.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Why the secret file at `path` (named `what` in the message) is unsafe, if it is: it is
/// readable or writable by every user of the machine. A file that cannot be read at all is
/// not reported here; whoever reads it reports that.
pub fn open_to_everyone(what: &str, path: &Path) -> Option<String> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o007 != 0).then(|| {
        format!(
            "{what}: {} is open to every user of this machine (mode {mode:04o}); \
             chmod 600 it (or 640 with a group that only the service is in)",
            path.display()
        )
    })
}

/// Why the file at `path` (named `what` in the message) is unsafe for a key only its owner may
/// use, if it is: its group or any other user has any permission on it.
pub fn open_to_others(what: &str, path: &Path) -> Option<String> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{what}: {} is open to users other than its owner (mode {mode:04o}); chmod 600 it",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owner_and_group_may_have_access() {
        let dir = std::env::temp_dir().join(format!("sg-secret-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, "x").unwrap();
        for (mode, open) in [(0o600, false), (0o640, false), (0o644, true), (0o602, true)] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let problem = open_to_everyone("KEY_FILE", &file);
            assert_eq!(problem.is_some(), open, "{mode:o}: {problem:?}");
        }
        assert_eq!(open_to_everyone("KEY_FILE", &dir.join("missing")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_owners_key_gives_nobody_else_access() {
        let dir = std::env::temp_dir().join(format!("sg-owner-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, "x").unwrap();
        for (mode, open) in [(0o600, false), (0o400, false), (0o640, true), (0o610, true)] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let problem = open_to_others("--identity", &file);
            assert_eq!(problem.is_some(), open, "{mode:o}: {problem:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
