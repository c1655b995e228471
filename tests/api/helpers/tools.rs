//! Programs from Debian packages that some tests run (scripts/test.sh installs them).

use std::path::{Path, PathBuf};

/// The path of `program` on PATH; panics naming the Debian package that provides it, so a
/// machine set up without it fails loudly instead of skipping the check.
pub fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` not found: install the Debian package `{package}` \
                 (apt-get install -y {package}; scripts/test.sh installs it)"
            )
        })
}

/// The repository's root, where `deploy/` lives.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory under the system temp dir, named after `what`.
pub fn scratch_dir(what: &str) -> PathBuf {
    let mut rnd = [0u8; 4];
    rand::fill(&mut rnd);
    let dir = std::env::temp_dir().join(format!(
        "sg-{what}-{}-{}",
        std::process::id(),
        hex::encode(rnd)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
