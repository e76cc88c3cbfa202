//! `session-sigma cluster` (feature `cluster`): the engine on timely dataflow, over
//! partitioned input. See `session_sigma::cluster`.

use super::args::{ClusterArgs, OutputFormat};
use super::{EXIT_ERROR, RuleSources};
use session_sigma::cluster::input::Spec;
use session_sigma::cluster::worker::Render;
use session_sigma::cluster::{Job, Topology, run};
use session_sigma::source::Format;
use std::io::BufWriter;

pub fn cluster(a: &ClusterArgs) -> u8 {
    let settings = match a.engine.settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    if a.workers == 0 || a.processes == 0 {
        eprintln!("error: -w and -n must be at least 1");
        return EXIT_ERROR;
    }
    if a.partitions.is_empty() {
        eprintln!("error: give the partitions: one file per partition");
        return EXIT_ERROR;
    }
    if a.engine.input_format == super::args::InputFormat::Evtx {
        eprintln!("error: cluster partitions are read as lines; EVTX is not a line format");
        return EXIT_ERROR;
    }
    let topology = if a.processes > 1 {
        let Some(path) = &a.hostfile else {
            eprintln!("error: -n {} needs a hostfile (-h FILE)", a.processes);
            return EXIT_ERROR;
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read hostfile {}: {e}", path.display());
                return EXIT_ERROR;
            }
        };
        let name = path.display().to_string();
        match Topology::from_hostfile(&text, &name, a.processes, a.process, a.workers) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        if a.process != 0 {
            eprintln!("error: -p {} needs -n above it", a.process);
            return EXIT_ERROR;
        }
        Topology::local(a.workers)
    };
    let sources = match RuleSources::load(&a.rules.rules, a.rules.placeholders.as_ref()) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let set = match sources.build(false) {
        Ok(s) => s,
        Err(c) => return c,
    };
    // Every worker thread reads the rule set for the life of the process.
    let set: &'static _ = Box::leak(Box::new(set));
    let job = Job {
        set,
        settings,
        format: Format::from(a.engine.input_format),
        render: match a.engine.format {
            OutputFormat::Jsonl => Render::Json,
            OutputFormat::Text => Render::Text,
        },
        spec: Spec::Files(a.partitions.clone()),
        max_line: a.engine.max_line_bytes,
        topology,
    };
    let out: Box<dyn std::io::Write + Send> = match &a.output {
        None => Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout())),
        // Only process 0 writes alerts: the others do not touch the file.
        Some(_) if a.process != 0 => Box::new(std::io::sink()),
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(BufWriter::with_capacity(1 << 16, f)),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_ERROR;
            }
        },
    };
    match run(job, out) {
        Ok(Some(stats)) => super::run::finish_report(&stats, a.engine.summary.as_deref()),
        Ok(None) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}
