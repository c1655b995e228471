//! Reads variables through a lookup function (the process environment, or a map in tests),
//! with `*_FILE` variants for secrets, collecting every problem instead of stopping at the first.

pub struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    /// A variable's value; set but blank counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// `NAME` or the contents of the file named by `NAME_FILE` (not both).
    pub fn secret(&mut self, name: &str) -> Option<String> {
        let file_var = format!("{name}_FILE");
        match (self.get(name), self.get(&file_var)) {
            (Some(_), Some(_)) => {
                self.problem(format!("{name} and {file_var} are both set; set only one"));
                None
            }
            (Some(v), None) => Some(v),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(v) => Some(v.trim_end_matches(['\n', '\r']).to_owned()),
                Err(e) => {
                    self.problem(format!("{file_var}: cannot read {path}: {e}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    /// The variable parsed as `T`, or `default` when unset; `what` names the expected form
    /// in the problem reported when it does not parse.
    pub fn parse<T: std::str::FromStr>(&mut self, name: &str, default: T, what: &str) -> T {
        match self.get(name) {
            None => default,
            Some(v) => match v.trim().parse() {
                Ok(x) => x,
                Err(_) => {
                    self.problem(format!("{name}={v:?} is not {what}"));
                    default
                }
            },
        }
    }

    /// A boolean variable, false when unset.
    pub fn flag(&mut self, name: &str) -> bool {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => true,
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => false,
            Some(v) => {
                self.problem(format!("{name}={v:?} is not a boolean (true/false)"));
                false
            }
        }
    }

    /// A boolean variable that is true unless set to a false value.
    pub fn flag_on_by_default(&mut self, name: &str) -> bool {
        self.get(name).is_none() || self.flag(name)
    }

    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    pub fn into_problems(self) -> Vec<String> {
        self.problems
    }
}

/// The machine's core count: the default for thread pools sized to the CPU.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
