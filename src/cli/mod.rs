//! The command-line layer: argument parsing, file handling and exit codes over the library.

/// `eprintln!` that does not panic when stderr is closed (`run … 2>&1 | head`): a
/// diagnostic that cannot be written is dropped, the run goes on.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that does not panic when stderr is closed.
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

/// `println!` that does not panic when stdout is closed (`session-sigma test | head`).
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that does not panic when stdout is closed.
macro_rules! print {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod args;
#[cfg(feature = "cluster")]
mod cluster;
mod input;
mod normalize;
mod parallel;
mod run;

use crate::compile::{Options, RuleSet, RuleSetBuilder};
use crate::diag::Diagnostics;
use crate::report::render;
use args::{Cli, Command};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_rules.rs"));
}

/// A duration option (`--x 30s`) of at least `min` nanoseconds; a usage error (reported)
/// otherwise.
pub fn duration_arg(flag: &str, text: &str, min: i64) -> Result<std::time::Duration, u8> {
    match crate::time::parse_duration(text) {
        Ok(d) if d >= min => Ok(std::time::Duration::from_nanos(d.unsigned_abs())),
        Ok(_) => {
            eprintln!("error: {flag} `{text}` is too short: it must be positive");
            Err(EXIT_ERROR)
        }
        Err(e) => {
            eprintln!("error: {flag} `{text}` {e}");
            Err(EXIT_ERROR)
        }
    }
}

/// Exit code for usage errors, unreadable files and rules that do not compile.
pub const EXIT_ERROR: u8 = 2;

/// The `session-sigma` command: parses the arguments, runs the subcommand, and returns
/// its exit code (0 success; 1 a rule test failed or `check` found an error; 2 usage
/// errors, unreadable files, rules that do not compile).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Run(a) => run::run(&a),
        Command::Test(a) => test(&a),
        Command::Check(a) => check(&a),
        Command::Explain(a) => explain(&a),
        Command::Normalize(a) => normalize::normalize(&a),
        #[cfg(feature = "cluster")]
        Command::Cluster(a) => cluster::cluster(&a),
        #[cfg(feature = "cluster")]
        Command::Publish(a) => cluster::publish(&a),
    };
    ExitCode::from(code)
}

/// The rule files (path and text) a command should load, with their texts kept for
/// rendering diagnostics.
pub struct RuleSources {
    builder: RuleSetBuilder,
    texts: Vec<(String, String)>,
}

impl RuleSources {
    /// Loads and compiles the rules of `--rules`/`--placeholders` (diagnostics on stderr).
    pub fn compile(a: &args::RuleArgs) -> Result<RuleSet, u8> {
        RuleSources::load(&a.rules, a.placeholders.as_ref())?.build(false)
    }

    /// Loads `paths`, or the bundled pack when there are none.
    pub fn load(paths: &[PathBuf], placeholders: Option<&PathBuf>) -> Result<RuleSources, u8> {
        let mut options = Options::default();
        if let Some(p) = placeholders {
            let shown = p.display().to_string();
            let text =
                crate::file::read_text_bounded(p, crate::file::MAX_RULE_FILE).map_err(|e| {
                    eprintln!("error: cannot read placeholder file {shown}: {e}");
                    EXIT_ERROR
                })?;
            let text = crate::file::without_bom(&text).to_string();
            options.placeholders =
                Some(crate::rule::load_placeholders(&shown, &text).map_err(|d| {
                    print_diagnostics(&d, &[(shown.clone(), text.clone())], true);
                    EXIT_ERROR
                })?);
        }
        let mut builder = RuleSet::builder();
        builder.options(options);
        let mut texts = Vec::new();
        if paths.is_empty() {
            for (path, text) in bundled::BUNDLED {
                builder.add_str(*path, *text);
                texts.push((path.to_string(), text.to_string()));
            }
        }
        for p in paths {
            builder.add_path(p);
        }
        for (path, text) in builder.sources() {
            if !texts.iter().any(|(p, _)| p == path) {
                texts.push((path.clone(), text.clone()));
            }
        }
        Ok(RuleSources { builder, texts })
    }

    /// Compiles, printing diagnostics (errors always; warnings when `warnings`) to stderr.
    pub fn build(&self, warnings: bool) -> Result<RuleSet, u8> {
        match self.builder.build() {
            Ok(set) => {
                if warnings {
                    print_diagnostics(set.warnings(), &self.texts, true);
                }
                Ok(set)
            }
            Err(d) => {
                print_diagnostics(&d, &self.texts, true);
                eprintln!("error: {} rule error(s); nothing was run", d.error_count());
                Err(EXIT_ERROR)
            }
        }
    }
}

fn print_diagnostics(d: &Diagnostics, texts: &[(String, String)], to_stderr: bool) {
    for diag in d.iter() {
        let text = texts
            .iter()
            .find(|(p, _)| *p == diag.path)
            .map(|(_, t)| t.as_str());
        let s = render(diag, text);
        if to_stderr {
            eprint!("{s}");
        } else {
            print!("{s}");
        }
    }
}

fn test(a: &args::TestArgs) -> u8 {
    let sources = match RuleSources::load(&a.paths, a.placeholders.as_ref()) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let set = match sources.build(false) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let outcomes = crate::testing::run_all(&set);
    let mut failed = 0usize;
    for o in &outcomes {
        match &o.failure {
            None => println!("test {} :: {} :: {} ... ok", o.path, o.rule, o.name),
            Some(f) => {
                failed += 1;
                println!(
                    "test {} :: {} :: {} ... FAILED\n{f}",
                    o.path, o.rule, o.name
                );
            }
        }
    }
    println!("{} passed, {} failed", outcomes.len() - failed, failed);
    u8::from(failed > 0)
}

fn check(a: &args::CheckArgs) -> u8 {
    let sources = match RuleSources::load(&a.paths, a.placeholders.as_ref()) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let (diags, rules) = match sources.builder.build() {
        Ok(set) => (set.warnings().clone(), set.len()),
        Err(d) => (d, 0),
    };
    print_diagnostics(&diags, &sources.texts, false);
    let errors = diags.error_count();
    eprintln!(
        "checked {} file(s): {} rule(s) compiled, {} error(s), {} warning(s)",
        sources.texts.len(),
        rules,
        errors,
        diags.0.len() - errors
    );
    u8::from(errors > 0)
}

fn explain(a: &args::ExplainArgs) -> u8 {
    let set = match RuleSources::compile(&a.rules) {
        Ok(s) => s,
        Err(c) => return c,
    };
    match set.find(&a.rule) {
        Some(i) => {
            print!("{}", set.explain(i));
            0
        }
        None => {
            eprintln!("error: no rule has the name, id or title `{}`", a.rule);
            EXIT_ERROR
        }
    }
}
