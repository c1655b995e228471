//! Counts the rows of each table in a dump as it streams past, so the manifest records exactly
//! what the dump holds (the snapshot of its transaction, which no other connection can see).
//!
//! It reads the statements `mariadb-dump` and `mysqldump` write: `CREATE TABLE `t` (` names a
//! table (with no rows yet), and every `INSERT INTO `t` VALUES (..),(..);` adds one row per
//! parenthesised tuple, outside quoted strings. With `--master-data=2` the dump also names,
//! in a comment, the binary log position of its snapshot: where a point-in-time recovery
//! starts replaying. Memory is bounded: a line's first bytes, and a handful of flags.

use std::collections::BTreeMap;
use std::io::{self, Write};

/// The longest line start that is kept to recognise a statement: the keywords and a table
/// name of at most 64 characters (four bytes each, backticks doubled).
const HEAD_MAX: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line, collecting its first bytes.
    Head,
    /// In a line that is not a row statement: waiting for its end.
    Skip,
    /// Past the table name of an INSERT, before its `VALUES`.
    BeforeValues,
    /// In the tuples of an INSERT.
    Values {
        depth: u32,
        quote: Option<u8>,
        escaped: bool,
    },
}

/// A writer that passes everything on to `inner` and counts rows per table on the way.
pub struct RowCounter<W> {
    inner: W,
    state: State,
    head: Vec<u8>,
    /// The last bytes seen while looking for `VALUES`.
    window: [u8; 6],
    table: String,
    counts: BTreeMap<String, u64>,
    binlog: Option<BinlogPosition>,
}

/// A position in the server's binary log: the first event after a dump's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BinlogPosition {
    pub file: String,
    pub position: u64,
}

const CHANGE_MASTER: &[u8] = b"-- CHANGE MASTER TO MASTER_LOG_FILE='";

impl BinlogPosition {
    /// From `-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000003', MASTER_LOG_POS=1234;`.
    fn parse(line: &[u8]) -> Option<BinlogPosition> {
        let line = std::str::from_utf8(line).ok()?;
        let rest = line.strip_prefix(std::str::from_utf8(CHANGE_MASTER).ok()?)?;
        let (file, rest) = rest.split_once('\'')?;
        let position = rest
            .trim_start_matches([',', ' '])
            .strip_prefix("MASTER_LOG_POS=")?
            .trim_end_matches([';', '\r', ' '])
            .parse()
            .ok()?;
        Some(BinlogPosition {
            file: file.to_owned(),
            position,
        })
    }
}

impl<W: Write> RowCounter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            state: State::Head,
            head: Vec::with_capacity(HEAD_MAX),
            window: [0; 6],
            table: String::new(),
            counts: BTreeMap::new(),
            binlog: None,
        }
    }

    /// Rows per table, the binary log position if the dump named one, and the writer.
    pub fn finish(self) -> (BTreeMap<String, u64>, Option<BinlogPosition>, W) {
        (self.counts, self.binlog, self.inner)
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = match self.state {
                State::Head => self.head_byte(b),
                State::Skip if b == b'\n' => State::Head,
                State::Skip => State::Skip,
                State::BeforeValues => {
                    self.window.rotate_left(1);
                    self.window[5] = b;
                    if &self.window == b"VALUES" {
                        State::Values {
                            depth: 0,
                            quote: None,
                            escaped: false,
                        }
                    } else if b == b'\n' {
                        State::Head
                    } else {
                        State::BeforeValues
                    }
                }
                State::Values {
                    depth,
                    quote,
                    escaped,
                } => self.value_byte(b, depth, quote, escaped),
            };
        }
    }

    fn head_byte(&mut self, b: u8) -> State {
        if b == b'\n' {
            if self.head.starts_with(CHANGE_MASTER) {
                self.binlog = BinlogPosition::parse(&self.head);
            }
            self.head.clear();
            return State::Head;
        }
        self.head.push(b);
        let n = self.head.len().min(CHANGE_MASTER.len());
        if self.head[..n] == CHANGE_MASTER[..n] && self.head.len() < HEAD_MAX {
            return State::Head;
        }
        const INSERT: &[u8] = b"INSERT INTO `";
        const CREATE: &[u8] = b"CREATE TABLE `";
        for (prefix, insert) in [(INSERT, true), (CREATE, false)] {
            let n = self.head.len().min(prefix.len());
            if self.head[..n] != prefix[..n] {
                continue;
            }
            if self.head.len() <= prefix.len() {
                return State::Head;
            }
            // The name ends at a backtick that the next byte does not double.
            let name = &self.head[prefix.len()..];
            let Some(name) = table_name(name) else {
                return if self.head.len() < HEAD_MAX {
                    State::Head
                } else {
                    self.head.clear();
                    State::Skip
                };
            };
            self.head.clear();
            self.counts.entry(name.clone()).or_insert(0);
            if !insert {
                return State::Skip;
            }
            self.table = name;
            self.window = [0; 6];
            return State::BeforeValues;
        }
        self.head.clear();
        State::Skip
    }

    fn value_byte(&mut self, b: u8, depth: u32, quote: Option<u8>, escaped: bool) -> State {
        let values = |depth, quote, escaped| State::Values {
            depth,
            quote,
            escaped,
        };
        match quote {
            Some(_) if escaped => values(depth, quote, false),
            Some(_) if b == b'\\' => values(depth, quote, true),
            // A doubled quote inside a string is read as a closing and an opening quote.
            Some(q) if b == q => values(depth, None, false),
            Some(_) => values(depth, quote, false),
            None => match b {
                b'\'' | b'"' => values(depth, Some(b), false),
                b'(' => {
                    if depth == 0
                        && let Some(n) = self.counts.get_mut(&self.table)
                    {
                        *n += 1;
                    }
                    values(depth + 1, None, false)
                }
                b')' => values(depth.saturating_sub(1), None, false),
                b';' if depth == 0 => State::Skip,
                _ => values(depth, None, false),
            },
        }
    }
}

/// The table name at the start of `rest` (after the opening backtick), once its closing
/// backtick is known not to be doubled.
fn table_name(rest: &[u8]) -> Option<String> {
    let mut name = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'`' {
            match rest.get(i + 1) {
                None => return None,
                Some(b'`') => {
                    name.push(b'`');
                    i += 2;
                    continue;
                }
                Some(_) => return Some(String::from_utf8_lossy(&name).into_owned()),
            }
        }
        name.push(rest[i]);
        i += 1;
    }
    None
}

impl<W: Write> Write for RowCounter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
/*!40101 SET NAMES utf8mb4 */;
-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000003', MASTER_LOG_POS=1234;
-- CHANGE MASTER TO is not a position
DROP TABLE IF EXISTS `employees`;
CREATE TABLE `employees` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(100) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
LOCK TABLES `employees` WRITE;
/*!40000 ALTER TABLE `employees` DISABLE KEYS */;
INSERT INTO `employees` VALUES (1,'看護 (花子)'),(2,'It\'s; (a) \\'),(3,'say ''hi'' ('),(4,0x28293B27);
INSERT INTO `employees` VALUES (5,NULL);
UNLOCK TABLES;
CREATE TABLE `empty` (
  `id` int
);
CREATE TABLE `we``ird` (`id` int);
INSERT INTO `we``ird` (`id`) VALUES (1),(2);
-- Dump completed on 2026-11-21 18:04:00
"#;

    fn count(chunks: &[&[u8]]) -> BTreeMap<String, u64> {
        let mut c = RowCounter::new(Vec::new());
        for chunk in chunks {
            c.write_all(chunk).unwrap();
        }
        let (counts, binlog, out) = c.finish();
        assert_eq!(
            binlog,
            Some(BinlogPosition {
                file: "mariadb-bin.000003".into(),
                position: 1234
            })
        );
        assert_eq!(out, chunks.concat(), "everything passes through unchanged");
        counts
    }

    fn expected() -> BTreeMap<String, u64> {
        BTreeMap::from([
            ("employees".to_owned(), 5),
            ("empty".to_owned(), 0),
            ("we`ird".to_owned(), 2),
        ])
    }

    #[test]
    fn rows_are_counted_per_table_whatever_the_strings_hold() {
        assert_eq!(count(&[DUMP.as_bytes()]), expected());
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let bytes = DUMP.as_bytes();
        for size in [1, 2, 3, 7, 13, 64] {
            let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
            assert_eq!(count(&chunks), expected(), "chunks of {size}");
        }
    }
}
