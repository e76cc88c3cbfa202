//! `session-sigma cluster` (feature `cluster`): the engine on timely dataflow, over
//! partitioned input. See `crate::cluster`.

use super::args::{ClusterArgs, PublishArgs};
use super::{EXIT_ERROR, RuleSources, duration_arg};
use crate::cluster::input::Spec;
use crate::cluster::{Job, Topology, run};
use crate::source::Format;
use std::io::BufWriter;

/// `session-sigma cluster`: each option checked (usage errors exit 2), then the run.
pub fn cluster(a: &ClusterArgs) -> u8 {
    match job_of(a) {
        Ok((job, out)) => match run(job, out) {
            Ok(Some(stats)) => super::run::finish_report(&stats, a.engine.summary.as_deref()),
            Ok(None) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        },
        Err(code) => code,
    }
}

/// The cluster job the options describe, and where alerts go.
fn job_of(a: &ClusterArgs) -> Result<(Job, Box<dyn std::io::Write + Send>), u8> {
    let settings = a.engine.settings()?;
    if a.workers == 0 || a.processes == 0 {
        eprintln!("error: -w and -n must be at least 1");
        return Err(EXIT_ERROR);
    }
    let spec = spec_of(a)?;
    if a.engine.input_format == super::args::InputFormat::Evtx {
        eprintln!("error: cluster partitions are read as lines; EVTX is not a line format");
        return Err(EXIT_ERROR);
    }
    let idle_timeout = match &a.idle_timeout {
        None => None,
        Some(t) => Some(duration_arg("--idle-timeout", t, 1)?),
    };
    let metrics = metrics_of(a)?;
    let stop = watch_signals()?;
    let topology = topology_of(a)?;
    let set = RuleSources::compile(&a.rules)?;
    // Every worker thread reads the rule set for the life of the process.
    let set: &'static _ = Box::leak(Box::new(set));
    let checkpoint = checkpoint_of(a)?;
    let output = a.engine.alert_format();
    if output.header().is_some() {
        // The output is counted in alert lines on --resume: no header line.
        eprintln!("error: cluster writes jsonl or text; table and csv are for run");
        return Err(EXIT_ERROR);
    }
    let (out, resume) = output_of(a)?;
    let job = Job {
        set,
        settings,
        format: Format::from(a.engine.input_format),
        output,
        spec,
        max_line: a.engine.max_line_bytes,
        topology,
        checkpoint,
        resume,
        stop: Some(stop),
        idle_timeout,
        metrics,
    };
    Ok((job, out))
}

/// The partitions: files, or a NATS stream.
fn spec_of(a: &ClusterArgs) -> Result<Spec, u8> {
    match (&a.nats, &a.stream, a.partitions) {
        (Some(url), Some(stream), Some(partitions)) if partitions > 0 => Ok(Spec::Nats {
            url: url.clone(),
            stream: stream.clone(),
            partitions,
            follow: a.follow,
        }),
        (Some(_), ..) => {
            eprintln!("error: --nats needs --stream and --partitions (at least 1)");
            Err(EXIT_ERROR)
        }
        _ if a.files.is_empty() => {
            eprintln!("error: give the partitions: one file per partition, or --nats");
            Err(EXIT_ERROR)
        }
        _ => {
            let inputs: Vec<Option<std::path::PathBuf>> =
                a.files.iter().cloned().map(Some).collect();
            let written = [
                ("--summary", a.engine.summary.as_deref()),
                ("--metrics", a.metrics.as_deref()),
            ];
            super::files::refuse_writing_inputs(&inputs, &written)?;
            Ok(Spec::Files(a.files.clone()))
        }
    }
}

/// `--metrics FILE|-` and its interval.
fn metrics_of(
    a: &ClusterArgs,
) -> Result<Option<(crate::cluster::MetricsOut, std::time::Duration)>, u8> {
    let Some(path) = &a.metrics else {
        return Ok(None);
    };
    let every = duration_arg("--metrics-every", &a.metrics_every, 1)?;
    let out: Box<dyn std::io::Write + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stderr())
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return Err(EXIT_ERROR);
            }
        }
    };
    Ok(Some((
        std::sync::Arc::new(std::sync::Mutex::new(out)),
        every,
    )))
}

/// SIGINT/SIGTERM end the input: buffered events are released, the summary written.
fn watch_signals() -> Result<std::sync::Arc<std::sync::atomic::AtomicBool>, u8> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("error: cannot handle signal {sig}: {e}");
            return Err(EXIT_ERROR);
        }
    }
    Ok(stop)
}

/// One process, or `-n` processes from a hostfile.
fn topology_of(a: &ClusterArgs) -> Result<Topology, u8> {
    let connect_timeout = duration_arg("--connect-timeout", &a.connect_timeout, 1)?;
    if a.processes <= 1 {
        if a.process != 0 {
            eprintln!("error: -p {} needs -n above it", a.process);
            return Err(EXIT_ERROR);
        }
        return Ok(Topology::local(a.workers));
    }
    let Some(path) = &a.hostfile else {
        eprintln!("error: -n {} needs a hostfile (-h FILE)", a.processes);
        return Err(EXIT_ERROR);
    };
    let text = match crate::file::read_text_bounded(path, crate::file::MAX_RULE_FILE) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read hostfile {}: {e}", path.display());
            return Err(EXIT_ERROR);
        }
    };
    let name = path.display().to_string();
    match Topology::from_hostfile(&text, &name, a.processes, a.process, a.workers) {
        Ok(t) => Ok(Topology {
            connect_timeout,
            ..t
        }),
        Err(e) => {
            eprintln!("error: {e}");
            Err(EXIT_ERROR)
        }
    }
}

/// `--checkpoint-dir` (created) and `--checkpoint-every`.
fn checkpoint_of(a: &ClusterArgs) -> Result<Option<crate::cluster::checkpoint::Config>, u8> {
    let Some(dir) = &a.checkpoint_dir else {
        return Ok(None);
    };
    let every = duration_arg("--checkpoint-every", &a.checkpoint_every, 1_000_000_000)?.as_secs();
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return Err(EXIT_ERROR);
    }
    Ok(Some(crate::cluster::checkpoint::Config {
        dir: dir.clone(),
        every,
        full_every: a.checkpoint_full_every,
    }))
}

/// Where alerts go, and with `--resume` how many the output already holds.
fn output_of(a: &ClusterArgs) -> Result<(Box<dyn std::io::Write + Send>, Option<u64>), u8> {
    match &a.output {
        None if a.resume => {
            eprintln!("error: --resume needs --output: the alerts already written are read there");
            Err(EXIT_ERROR)
        }
        None => Ok((
            Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout())),
            None,
        )),
        // Only process 0 writes alerts: the others do not touch the file.
        Some(_) if a.process != 0 => Ok((Box::new(std::io::sink()), a.resume.then_some(0))),
        Some(path) if a.resume => match reopen(path) {
            Ok((f, lines)) => Ok((Box::new(BufWriter::with_capacity(1 << 16, f)), Some(lines))),
            Err(e) => {
                eprintln!("error: cannot resume {}: {e}", path.display());
                Err(EXIT_ERROR)
            }
        },
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Ok((Box::new(BufWriter::with_capacity(1 << 16, f)), None)),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                Err(EXIT_ERROR)
            }
        },
    }
}

/// The output of an interrupted run, for appending: a last line cut short is removed;
/// returns the file and its number of complete lines.
fn reopen(path: &std::path::Path) -> std::io::Result<(std::fs::File, u64)> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let lines = text[..keep].iter().filter(|b| **b == b'\n').count() as u64;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)?;
    f.set_len(keep as u64)?;
    let mut f = f;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0))?;
    Ok((f, lines))
}

/// `publish`: JSON lines into a JetStream stream, partition by partition, in input order.
pub fn publish(a: &PublishArgs) -> u8 {
    use crate::cluster::nats::{Client, NatsError, partition_of};
    use std::io::BufRead;
    if a.partitions == 0 {
        eprintln!("error: --partitions must be at least 1");
        return EXIT_ERROR;
    }
    let mut client = match Client::connect(&a.nats, std::time::Duration::from_secs(5)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if let Err(e) = client.ensure_stream(&a.stream) {
        eprintln!("error: {e}");
        return EXIT_ERROR;
    }
    let inputs: Vec<Option<&std::path::PathBuf>> = if a.events.is_empty() {
        vec![None]
    } else {
        a.events
            .iter()
            .map(|p| (p.as_os_str() != "-").then_some(p))
            .collect()
    };
    let mut parts: Vec<Vec<Vec<u8>>> = vec![Vec::new(); a.partitions as usize];
    let mut total = 0u64;
    let flush = |parts: &mut Vec<Vec<Vec<u8>>>, client: &mut Client| -> Result<(), NatsError> {
        for (p, lines) in parts.iter_mut().enumerate() {
            let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_slice()).collect();
            client.publish_batch(&a.stream, p as u32, &refs)?;
            lines.clear();
        }
        Ok(())
    };
    for input in inputs {
        let reader: Box<dyn BufRead> = match input {
            None => Box::new(std::io::stdin().lock()),
            Some(path) => match std::fs::File::open(path) {
                Ok(f) => Box::new(std::io::BufReader::new(f)),
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    return EXIT_ERROR;
                }
            },
        };
        for line in reader.split(b'\n') {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: reading input: {e}");
                    return EXIT_ERROR;
                }
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // The key's text; a line that is not a JSON object (or lacks the key) goes by
            // its whole text, so that bad lines still land somewhere stable.
            let key = serde_json::from_slice::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v.get(&a.key).cloned())
                .map(|v| match v {
                    serde_json::Value::String(s) => s.into_bytes(),
                    other => other.to_string().into_bytes(),
                });
            let p = partition_of(key.as_deref().unwrap_or(&line), a.partitions);
            parts[p as usize].push(line);
            total += 1;
            if total % 4096 == 0 {
                if let Err(e) = flush(&mut parts, &mut client) {
                    eprintln!("error: {e}");
                    return EXIT_ERROR;
                }
            }
        }
    }
    if let Err(e) = flush(&mut parts, &mut client) {
        eprintln!("error: {e}");
        return EXIT_ERROR;
    }
    eprintln!(
        "{total} record(s) published to {} ({} partitions)",
        a.stream, a.partitions
    );
    0
}
