//! One word for each thing (docs/glossary.md): the words the glossary rules out appear nowhere
//! in the texts people read — the portal's templates, the staff page, the sheet, the messages.

use std::path::{Path, PathBuf};

use crate::helpers::tools::repo_root;

/// Every file under `dir` (recursively) whose name ends in one of `exts`.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, exts, out);
        } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
            out.push(path);
        }
    }
}

/// `word` in any of `dirs` (relative to the repository), as `file:line: text`.
fn uses(dirs: &[&str], exts: &[&str], word: &str) -> Vec<String> {
    let root = repo_root();
    let mut found = Vec::new();
    for dir in dirs {
        let mut paths = Vec::new();
        files(&root.join(dir), exts, &mut paths);
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.contains(word) {
                    let shown = path.strip_prefix(root).unwrap_or(&path).display();
                    found.push(format!("{shown}:{}: {}", i + 1, line.trim()));
                }
            }
        }
    }
    found
}

const READ_BY_PEOPLE: [&str; 4] = ["templates", "static", "src/services", "src/routes"];
const TEXT: [&str; 5] = [".html", ".js", ".rs", ".json", ".css"];

#[test]
fn the_glossary_s_ruled_out_words_appear_nowhere_people_read() {
    let mut found = Vec::new();
    for word in ["社員ID", "社員番号", "ログイン", "ログアウト"] {
        found.extend(uses(&READ_BY_PEOPLE, &TEXT, word));
    }
    // HR screens and the sheet speak of QR codes and printing together, not tokens and batches.
    for word in ["トークン", "バッチ"] {
        found.extend(uses(
            &["templates/admin", "src/services/sheets"],
            &TEXT,
            word,
        ));
    }
    found.extend(uses(&["src/routes/portal"], &TEXT, "バッチ"));
    assert!(
        found.is_empty(),
        "words docs/glossary.md rules out:\n{}",
        found.join("\n")
    );
}
