//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Sigma detection rules over user-session events.
#[derive(Debug, Parser)]
#[command(name = "session-sigma", version, about, long_about = None)]
pub struct Cli {
    /// Colour in diagnostics, explanations and text output: auto (on a terminal, unless
    /// NO_COLOR is set), always or never.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run rules over events (files, or stdin when none or "-") and print alerts.
    Run(RunArgs),
    /// Run the rules' embedded tests (and NAME.test.yml files).
    Test(TestArgs),
    /// Lint rule files: print every diagnostic as path:line:col.
    Check(CheckArgs),
    /// Why a rule does or does not match an event (--event, --events), or its compiled plan.
    Explain(ExplainArgs),
    /// Convert source records into session events (JSON lines).
    Normalize(NormalizeArgs),
    /// List rules (id, name, level, type, file), or export the bundled pack to a folder.
    Rules(RulesArgs),
    /// Print a placeholder file template: every `expand` placeholder name the rules use.
    Placeholders(PlaceholdersArgs),
    /// Write a self-contained HTML session timeline: sessions per user and host, alerts on them.
    Report(ReportArgs),
    /// A logon summary per user and host: logons by type, failures, first and last, sources.
    Logons(LogonsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: `session-sigma man > session-sigma.1`.
    Man,
    /// Run rules over partitioned input on a timely dataflow cluster (feature `cluster`).
    #[cfg(feature = "cluster")]
    Cluster(Box<ClusterArgs>),
    /// Load JSON lines into a NATS JetStream stream, partitioned by a key (feature `cluster`).
    #[cfg(feature = "cluster")]
    Publish(PublishArgs),
}

#[cfg(feature = "cluster")]
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Worker threads per process.
    #[arg(short = 'w', long = "workers", value_name = "N", default_value_t = 1)]
    pub workers: usize,
    /// Number of processes.
    #[arg(short = 'n', long = "processes", value_name = "N", default_value_t = 1)]
    pub processes: usize,
    /// This process's index, from 0.
    #[arg(short = 'p', long = "process", value_name = "I", default_value_t = 0)]
    pub process: usize,
    /// Hostfile: one `host:port` per line, in process order (needed with -n > 1).
    #[arg(short = 'h', long = "hostfile", value_name = "FILE")]
    pub hostfile: Option<PathBuf>,
    /// Per-worker metrics as JSON lines (records, events, late, matches sent, groups held,
    /// watermark and its lag behind the newest event): to FILE (appended), or `-` for stderr.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Wall-clock interval of the metrics lines.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DUR",
        default_value = "10s"
    )]
    pub metrics_every: String,
    /// How long to wait for every process to connect.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DUR",
        default_value = "60s"
    )]
    pub connect_timeout: String,
    /// Write alerts to FILE instead of stdout (process 0 writes them). With -n > 1 use it:
    /// timely prints its connection messages on stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Write checkpoints to DIR (it must be readable by every process on restart).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Event time between checkpoints.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DUR",
        default_value = "10m",
        requires = "checkpoint_dir"
    )]
    pub checkpoint_every: String,
    /// Every N-th checkpoint holds each worker's whole state; the others only the groups
    /// changed since the one before (1: always whole).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 24,
        requires = "checkpoint_dir",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub checkpoint_full_every: u32,
    /// Start from the latest complete checkpoint in --checkpoint-dir (after a failure):
    /// partitions replay from their resume places and alerts already in --output are not
    /// written again. Every process of the restarted run gets it.
    #[arg(long, requires = "checkpoint_dir")]
    pub resume: bool,
    /// Read the partitions from this NATS server's JetStream (with --stream, --partitions).
    #[arg(long, value_name = "URL", requires_all = ["stream", "partitions"], conflicts_with = "files")]
    pub nats: Option<String>,
    /// JetStream stream name; partition n is subject `<stream>.p.<n>`.
    #[arg(long, value_name = "NAME", requires = "nats")]
    pub stream: Option<String>,
    /// Number of JetStream partitions.
    #[arg(long, value_name = "P", requires = "nats")]
    pub partitions: Option<u32>,
    /// Keep reading new JetStream messages until SIGINT/SIGTERM (which end the input).
    #[arg(long, requires = "nats")]
    pub follow: bool,
    /// Move the time of a partition that has read nothing for DUR (wall clock) to the wall
    /// clock minus DUR, so that it does not hold back absence alerts forever. Events older
    /// than that which arrive later on it are late. Not deterministic; per-partition
    /// heartbeat records (`{"timestamp": …, "heartbeat": true}`) are.
    #[arg(long, allow_hyphen_values = true, value_name = "DUR")]
    pub idle_timeout: Option<String>,
    /// Partition files, one per partition, in partition order.
    #[arg(value_name = "PARTITIONS")]
    pub files: Vec<PathBuf>,
}

/// `publish`: load JSON lines into a JetStream stream, partitioned by a stable key.
#[cfg(feature = "cluster")]
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// NATS server.
    #[arg(long, value_name = "URL")]
    pub nats: String,
    /// Stream name (created if absent, subjects `<stream>.p.*`).
    #[arg(long, value_name = "NAME")]
    pub stream: String,
    /// Number of partitions.
    #[arg(long, value_name = "P")]
    pub partitions: u32,
    /// Top-level field whose value picks the partition (FNV-1a of its text, modulo P).
    #[arg(long, value_name = "FIELD", default_value = "user")]
    pub key: String,
    /// Files of JSON lines (none or "-": stdin).
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Auto,
    Session,
    Windows,
    Evtx,
    Syslog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Jsonl,
    Text,
    Table,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Eof {
    Hold,
    Flush,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Rule files or directories (recursively *.yml / *.yaml); repeat to combine, and
    /// `bundled` adds the bundled rule pack (`--rules bundled --rules my-rules/`).
    /// Default: the bundled rule pack.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Placeholder values for the `expand` modifier (YAML: name: [values]).
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// A field `user_session` rules may name besides the session model's (no W504
    /// warning); repeatable.
    #[arg(long = "extra-field", value_name = "NAME")]
    pub extra_fields: Vec<String>,
    /// Report each rule that does not compile (as `check` does) and run the others.
    #[arg(long)]
    pub skip_invalid_rules: bool,
    /// A placeholder name with no value: `error` (E305), `skip` (leave the rule out, counted)
    /// or `wildcard` (`*`, as pySigma's placeholder step).
    #[arg(long, value_enum, default_value = "error")]
    pub unset_placeholders: UnsetChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnsetChoice {
    Error,
    Skip,
    Wildcard,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Correlation state file: loaded at start if it exists, written (atomically) at end
    /// of input and on SIGINT/SIGTERM. A run with a state file is one segment of a longer
    /// stream: events still inside the lateness window stay buffered in the file.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// With --state: this run's end of input is the end of the stream (release buffered
    /// events, then hold or flush open obligations as --eof says) before the state is written.
    #[arg(long, requires = "state")]
    pub end_of_stream: bool,
    /// Worker threads for reading and matching events (default: all cores). Output is
    /// identical for every value; live input and --state runs use one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub threads: Option<usize>,
    /// The year of syslog lines that do not say it (default: this year); a December →
    /// January turn moves to the next year.
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i64>,
    /// Memory for sorting several files into one event-time stream before sorted runs
    /// are written to the temporary folder (TMPDIR): bytes, or with K, M or G.
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size)]
    pub sort_memory: usize,
    /// At the end, a table on stderr: events per input, skipped by reason, invalid, late,
    /// alerts per rule and level (the default on a terminal).
    #[arg(long)]
    pub stats: bool,
    /// No progress bar and no end-of-run table, even on a terminal.
    #[arg(long, short = 'q', conflicts_with = "stats")]
    pub quiet: bool,
    /// Event files or directories (read recursively): session JSON lines, Windows JSON,
    /// .evtx, syslog (see --input-format). Several files are one stream in event-time
    /// order. None or "-" reads stdin.
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
}

/// `--fields`: the columns of table and CSV output, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldList(pub Vec<crate::alert::columns::Column>);

fn parse_field_list(s: &str) -> Result<FieldList, String> {
    crate::alert::columns::parse_fields(s).map(FieldList)
}

/// `512M`, `2G`, `64K` or a number of bytes.
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size such as 512M"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("`{s}` is not a size such as 512M")),
    };
    n.checked_mul(1 << shift)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{s}` is not a size such as 512M"))
}

/// Options of the engine and its output, shared by `run` and `cluster`.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// How to read the input.
    #[arg(long, value_enum, default_value = "auto")]
    pub input_format: InputFormat,
    /// How long to wait for out-of-order events (e.g. 30s, 10m).
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DUR",
        default_value = "0s"
    )]
    pub max_lateness: String,
    /// At end of input, hold pending obligations (report them) or flush them as alerts.
    #[arg(long, value_enum, default_value = "hold")]
    pub eof: Eof,
    /// Write the run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Alert output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: OutputFormat,
    /// Columns of --format table and csv, comma-separated: time, level, rule, title, type,
    /// user, host, src_ip, value, values, group, file, event (default: time, level, rule,
    /// user, host, src_ip, value; csv adds file).
    #[arg(long, value_name = "LIST", value_parser = parse_field_list)]
    pub fields: Option<FieldList>,
    /// JSON alerts also say where each event came from: `"origins": [{"file": …, "line":
    /// N}, …]` in step with `events` (`"record": N` for EVTX). Text output always shows it.
    #[arg(long)]
    pub origins: bool,
    /// Most groups one correlation keeps; the least recently used group is evicted (counted).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_groups: usize,
    /// Most entries one group keeps (window events, values, obligations); the oldest go first.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_group_entries: usize,
    /// Longest accepted input line in bytes; longer lines are skipped and counted invalid.
    #[arg(long, value_name = "BYTES", default_value_t = crate::event::lines::DEFAULT_MAX_LINE)]
    pub max_line_bytes: usize,
}

impl EngineArgs {
    /// How alerts are written (`--format`, `--origins`).
    pub fn alert_format(&self) -> crate::alert::Format {
        use crate::alert::{Format, columns};
        let fields = |default: &[columns::Column]| {
            self.fields
                .clone()
                .map_or_else(|| default.to_vec(), |f| f.0)
        };
        match (self.format, self.origins) {
            (OutputFormat::Jsonl, true) => Format::JsonlWithOrigins,
            (OutputFormat::Jsonl, false) => Format::Jsonl,
            (OutputFormat::Text, _) => Format::Text,
            (OutputFormat::Table, _) => Format::Table(columns::Table {
                columns: fields(columns::TABLE),
                // Cut to the terminal's width on a terminal; whole lines on a pipe or file.
                width: terminal_size::terminal_size_of(std::io::stdout())
                    .map(|(w, _)| usize::from(w.0)),
            }),
            (OutputFormat::Csv, _) => Format::Csv(fields(columns::CSV)),
        }
    }

    /// The engine settings, or a usage error (reported on stderr).
    pub fn settings(&self) -> Result<crate::engine::Settings, u8> {
        let fail = |m: String| {
            eprintln!("error: {m}");
            super::EXIT_ERROR
        };
        let max_lateness = super::duration_arg("--max-lateness", &self.max_lateness, 0)?;
        let max_lateness = i64::try_from(max_lateness.as_nanos()).unwrap_or(i64::MAX);
        if self.max_groups == 0 || self.max_group_entries == 0 {
            return Err(fail(
                "--max-groups and --max-group-entries must be at least 1".into(),
            ));
        }
        if self.max_line_bytes == 0 {
            return Err(fail("--max-line-bytes must be at least 1".into()));
        }
        Ok(crate::engine::Settings {
            max_lateness,
            eof_flush: self.eof == Eof::Flush,
            limits: crate::correlate::Limits {
                max_groups: self.max_groups,
                max_group_entries: self.max_group_entries,
            },
        })
    }
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Run only the tests whose name or rule contains PATTERN (with `*`: matches the
    /// whole name or rule).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Also write the outcomes as junit=FILE (JUnit XML) or sarif=FILE (SARIF 2.1.0);
    /// repeatable.
    #[arg(long, value_name = "KIND=FILE", value_parser = super::reports::parse_report)]
    pub report: Vec<super::reports::ReportSpec>,
    /// Rule files or directories (as --rules). Default: the bundled rule pack.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// How to print diagnostics: text (with the offending line) or json (one object per
    /// line, with its span, for editors and CI).
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Also write the diagnostics as sarif=FILE (SARIF 2.1.0, for code-scanning UIs);
    /// repeatable.
    #[arg(long, value_name = "KIND=FILE", value_parser = super::reports::parse_report)]
    pub report: Vec<super::reports::ReportSpec>,
    /// Rule files or directories (as --rules). Default: the bundled rule pack.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// The rule's name, id or title.
    #[arg(value_name = "RULE")]
    pub rule: String,
    /// One event (a JSON object, read as `run` reads a line): explain the rule on it.
    #[arg(long, value_name = "JSON", conflicts_with = "events")]
    pub event: Option<String>,
    /// A file of events (JSON lines). A detection rule is explained on the event of --line;
    /// a correlation over the events up to --line (default: all of them).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// The line of --events to explain (from 1).
    #[arg(long, value_name = "N", requires = "events", value_parser = clap::value_parser!(u64).range(1..))]
    pub line: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// One line per rule: id, name, level, type, file (the bundled pack unless --rules).
    List(RulesListArgs),
    /// Write the bundled rule pack's files under DIR (session/, windows/, correlation/),
    /// to edit or to combine with one's own.
    Export(RulesExportArgs),
}

#[derive(Debug, Args)]
pub struct RulesListArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Debug, Args)]
pub struct RulesExportArgs {
    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
    /// The folder (created if needed).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// The inputs of `report` and `logons`, read as `run` reads them.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// How to read the input.
    #[arg(long, value_enum, default_value = "auto")]
    pub input_format: InputFormat,
    /// Longest accepted input line in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::event::lines::DEFAULT_MAX_LINE)]
    pub max_line_bytes: usize,
    /// Memory for sorting several files into one event-time stream.
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size)]
    pub sort_memory: usize,
    /// Event files or directories (as `run`).
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Args)]
pub struct LogonsArgs {
    /// Output: an aligned table, CSV, or JSON lines.
    #[arg(long, value_enum, default_value = "table")]
    pub format: LogonsFormat,
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogonsFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct PlaceholdersArgs {
    /// Rule files or directories (default: the bundled pack).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct NormalizeArgs {
    /// How to read the input.
    #[arg(long, value_enum, default_value = "auto")]
    pub input_format: InputFormat,
    /// The year of syslog lines that do not say it (default: this year).
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i64>,
    /// Longest accepted input line in bytes; longer lines are counted invalid.
    #[arg(long, value_name = "BYTES", default_value_t = crate::event::lines::DEFAULT_MAX_LINE)]
    pub max_line_bytes: usize,
    /// Input files. None or "-" reads stdin.
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
}
