//! A small command-line parser: `compare SUBCOMMAND [--key value]...`.

use std::collections::BTreeMap;
use std::str::FromStr;

pub const USAGE: &str = "\
usage:
  compare all      [--events N] [--real-events N] [--rules 20,200,2000]
                   [--engines session-sigma,rsigma,sigma-rust] [--runs 3] [--budget SECS]
                   [--seed N] [--work DIR]
  compare prepare  [--events N] [--real-events N] [--rules 20,200,2000] [--seed N] [--work DIR]
  compare run-one  --engine session-sigma|rsigma|sigma-rust|none --events-file F --rules-file F
                   [--runs 3] [--budget SECS] [--matches-out F]

`all` prepares the inputs, runs every engine in a child process per rule count (`run-one`),
checks that they report the same matches and prints the table. The data folder for the
real-record replay is $SESSION_SIGMA_DATA (default: ../../../shared/data from this crate).";

/// Parsed arguments: the subcommand and its `--key value` options.
pub struct Args {
    pub command: String,
    options: BTreeMap<String, String>,
}

impl Args {
    /// Reads `argv` (without the program name). Every option takes a value.
    pub fn parse(argv: Vec<String>) -> Result<Args, String> {
        let mut it = argv.into_iter();
        let command = it.next().ok_or("no subcommand given")?;
        if command.starts_with("--") {
            return Err(format!("expected a subcommand before `{command}`"));
        }
        let mut options = BTreeMap::new();
        while let Some(key) = it.next() {
            let Some(name) = key.strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument `{key}` (options are `--name value`)"
                ));
            };
            let value = it
                .next()
                .ok_or_else(|| format!("option `{key}` needs a value"))?;
            options.insert(name.to_string(), value);
        }
        Ok(Args { command, options })
    }

    /// Fails on options the subcommand does not know (typos must not pass silently).
    pub fn allow(&self, known: &[&str]) -> Result<(), String> {
        match self.options.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(format!(
                "unknown option `--{k}` for `{}` (known: {})",
                self.command,
                known
                    .iter()
                    .map(|k| format!("--{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Ok(()),
        }
    }

    pub fn string(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    pub fn required(&self, key: &str) -> Result<&str, String> {
        self.string(key)
            .ok_or_else(|| format!("`{}` needs `--{key}`", self.command))
    }

    /// A parsed value, or `default` when the option is absent.
    pub fn value<T: FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.options.get(key) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map_err(|_| format!("`--{key} {v}`: not a valid value")),
        }
    }

    /// A comma-separated list, or `default` when the option is absent.
    pub fn list<T: FromStr + Clone>(&self, key: &str, default: &[T]) -> Result<Vec<T>, String> {
        match self.options.get(key) {
            None => Ok(default.to_vec()),
            Some(v) => v
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .map_err(|_| format!("`--{key} {v}`: `{s}` is not a valid value"))
                })
                .collect(),
        }
    }
}
