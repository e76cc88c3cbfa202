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
mod explain;
mod files;
mod input;
mod logons;
mod merge;
mod normalize;
mod parallel;
mod report;
mod report_html;
mod reports;
mod rules;
mod run;
mod stats;

use crate::compile::{Options, RuleSet, RuleSetBuilder};
use crate::diag::Diagnostics;
use crate::report::render_painted;
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

/// `--color`, set once when the arguments are read.
static COLOR: std::sync::OnceLock<args::ColorChoice> = std::sync::OnceLock::new();

/// Colour for what goes to stdout.
pub fn paint_stdout() -> crate::report::Paint {
    paint(std::io::IsTerminal::is_terminal(&std::io::stdout()))
}

/// Colour for what goes to stderr (diagnostics).
pub fn paint_stderr() -> crate::report::Paint {
    paint(std::io::IsTerminal::is_terminal(&std::io::stderr()))
}

/// Colour for a stream: `always`, `never`, or on a terminal unless `NO_COLOR` is set
/// (to anything but the empty string, as no-color.org asks).
fn paint(stream_is_tty: bool) -> crate::report::Paint {
    let choice = COLOR.get().copied().unwrap_or(args::ColorChoice::Auto);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match choice {
        args::ColorChoice::Always => crate::report::Paint::on(),
        args::ColorChoice::Never => crate::report::Paint::off(),
        args::ColorChoice::Auto if stream_is_tty && !no_color => crate::report::Paint::on(),
        args::ColorChoice::Auto => crate::report::Paint::off(),
    }
}

/// The `--rules` value that stands for the bundled rule pack.
pub const BUNDLED: &str = "bundled";

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
    let _ = COLOR.set(cli.color);
    let code = match cli.command {
        Command::Run(a) => run::run(&a),
        Command::Test(a) => test(&a),
        Command::Check(a) => check(&a),
        Command::Explain(a) => explain::explain(&a),
        Command::Normalize(a) => normalize::normalize(&a),
        Command::Rules(a) => rules::rules(&a),
        Command::Placeholders(a) => rules::placeholders(&a),
        Command::Report(a) => report::report(&a),
        Command::Logons(a) => logons::logons(&a),
        Command::Completions(a) => rules::completions(&a),
        Command::Man => rules::man(),
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
        RuleSources::compile_counting(a).map(|(set, _)| set)
    }

    /// [`RuleSources::compile`], with `--skip-invalid-rules` leaving out the rules that do
    /// not compile: the rule set and how many were left out.
    pub fn compile_counting(a: &args::RuleArgs) -> Result<(RuleSet, usize), u8> {
        let sources = RuleSources::load_with(a, &[])?;
        let skip_unset = a.unset_placeholders == args::UnsetChoice::Skip;
        if !a.skip_invalid_rules && !skip_unset {
            return sources.build(false).map(|set| (set, 0));
        }
        let partial = sources.builder.build_skipping();
        let only_unset = partial
            .errors
            .iter()
            .all(|d| d.code == crate::diag::Code::UnresolvedPlaceholder);
        if !a.skip_invalid_rules && !only_unset {
            // `--unset-placeholders skip` leaves out those rules only.
            return sources.build(false).map(|set| (set, 0));
        }
        print_diagnostics(&partial.errors, &sources.texts, true);
        match partial.set {
            Some(set) => {
                if partial.skipped > 0 {
                    eprintln!(
                        "warning: {} rule(s) do not compile and were left out; {} rule(s) run",
                        partial.skipped,
                        set.len()
                    );
                }
                Ok((set, partial.skipped))
            }
            None => {
                eprintln!("error: rule errors that no rule can be left out for; nothing was run");
                Err(EXIT_ERROR)
            }
        }
    }

    /// Loads `--rules` and positional rule paths (test, check) together.
    pub fn load_with(a: &args::RuleArgs, more: &[PathBuf]) -> Result<RuleSources, u8> {
        let all: Vec<PathBuf> = a.rules.iter().chain(more).cloned().collect();
        RuleSources::load(
            &all,
            a.placeholders.as_ref(),
            &a.extra_fields,
            a.unset_placeholders,
        )
    }

    /// Loads `paths` (`bundled` stands for the bundled pack), or the bundled pack when
    /// there are none.
    pub fn load(
        paths: &[PathBuf],
        placeholders: Option<&PathBuf>,
        extra_fields: &[String],
        unset: args::UnsetChoice,
    ) -> Result<RuleSources, u8> {
        let mut options = Options {
            extra_fields: extra_fields.to_vec(),
            ..Options::default()
        };
        let unset = match unset {
            args::UnsetChoice::Wildcard => crate::rule::UnsetPlaceholders::Wildcard,
            _ => crate::rule::UnsetPlaceholders::Error,
        };
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
        if unset != crate::rule::UnsetPlaceholders::Error {
            options
                .placeholders
                .get_or_insert_with(Default::default)
                .unset = unset;
        }
        let mut builder = RuleSet::builder();
        builder.options(options);
        let mut texts = Vec::new();
        let is_bundled = |p: &PathBuf| p.as_os_str() == BUNDLED;
        let mut bundled_added = false;
        for p in paths
            .iter()
            .map(Some)
            .chain(paths.is_empty().then_some(None))
        {
            match p {
                Some(p) if !is_bundled(p) => {
                    builder.add_path(p);
                }
                // `bundled` (once, however often it is given), or nothing given.
                _ if bundled_added => {}
                _ => {
                    bundled_added = true;
                    for (path, text) in bundled::BUNDLED {
                        builder.add_str(*path, *text);
                        texts.push((path.to_string(), text.to_string()));
                    }
                }
            }
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
                eprintln!(
                    "error: {} rule error(s); nothing was run (--skip-invalid-rules runs the rules that compile)",
                    d.error_count()
                );
                Err(EXIT_ERROR)
            }
        }
    }
}

fn print_diagnostics(d: &Diagnostics, texts: &[(String, String)], to_stderr: bool) {
    let paint = if to_stderr {
        paint_stderr()
    } else {
        paint_stdout()
    };
    for diag in d.iter() {
        let text = texts
            .iter()
            .find(|(p, _)| *p == diag.path)
            .map(|(_, t)| t.as_str());
        let s = render_painted(diag, text, paint);
        if to_stderr {
            eprint!("{s}");
        } else {
            print!("{s}");
        }
    }
}

fn test(a: &args::TestArgs) -> u8 {
    let paint = paint_stdout();
    let sources = match RuleSources::load_with(&a.rules, &a.paths) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let set = match sources.build(false) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let outcomes = match &a.filter {
        Some(p) => crate::testing::run_matching(&set, &|rule, name| {
            crate::testing::filter_selects(p, rule, name)
        }),
        None => crate::testing::run_all(&set),
    };
    let mut failed = 0usize;
    for o in &outcomes {
        let head = format!("test {} :: {} :: {} ... ", o.path, o.rule, o.name);
        match &o.failure {
            None => println!("{head}{}", paint.green("ok")),
            Some(f) => {
                failed += 1;
                // Where the test is, then each expectation that failed.
                println!(
                    "{head}{}\n  {}:{}:{}: this test",
                    paint.red("FAILED"),
                    o.path,
                    o.span.line,
                    o.span.col + 1
                );
                println!("{f}");
            }
        }
    }
    if let Some(p) = &a.filter {
        if outcomes.is_empty() {
            eprintln!("warning: --filter `{p}` selects no test");
        }
    }
    for r in &a.report {
        let text = match r.kind {
            reports::ReportKind::Junit => reports::junit(&outcomes),
            reports::ReportKind::Sarif => reports::sarif_tests(&outcomes),
        };
        if let Err(m) = reports::write(r, &text) {
            eprintln!("error: {m}");
            return EXIT_ERROR;
        }
    }
    println!("{} passed, {} failed", outcomes.len() - failed, failed);
    u8::from(failed > 0)
}

fn check(a: &args::CheckArgs) -> u8 {
    let sources = match RuleSources::load_with(&a.rules, &a.paths) {
        Ok(s) => s,
        Err(c) => return c,
    };
    // With errors, the rules that compile are counted apart from those that do not.
    let (diags, rules, failed) = match sources.builder.build() {
        Ok(set) => (set.warnings().clone(), set.len(), 0),
        Err(d) => {
            let partial = sources.builder.build_skipping();
            (d, partial.set.map_or(0, |s| s.len()), partial.skipped)
        }
    };
    match a.format {
        args::CheckFormat::Text => print_diagnostics(&diags, &sources.texts, false),
        args::CheckFormat::Json => {
            for d in diags.iter() {
                println!("{}", reports::diagnostic_json(d));
            }
        }
    }
    for r in &a.report {
        let text = match r.kind {
            reports::ReportKind::Sarif => reports::sarif_check(&diags),
            reports::ReportKind::Junit => {
                eprintln!("error: check writes sarif reports (junit is for test)");
                return EXIT_ERROR;
            }
        };
        if let Err(m) = reports::write(r, &text) {
            eprintln!("error: {m}");
            return EXIT_ERROR;
        }
    }
    let errors = diags.error_count();
    let failed = if failed > 0 {
        format!(", {failed} failed")
    } else {
        String::new()
    };
    eprintln!(
        "checked {} file(s): {} rule(s) compiled{failed}, {} error(s), {} warning(s)",
        sources.texts.len(),
        rules,
        errors,
        diags.0.len() - errors
    );
    u8::from(errors > 0)
}
