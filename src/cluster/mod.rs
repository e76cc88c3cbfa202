//! Cluster mode (cargo feature `cluster`): the engine partitioned by key on timely
//! dataflow (`timely = "=0.32.0"`, plain operators; README "Cluster mode").
//!
//! ```text
//! partitions ─► Sources (per worker: lateness per partition, detection) ─exchange(corr, group)─►
//!   Correlating (per worker: the engine's own Correlator for the groups it owns) ─exchange(→0)─►
//!   Output (worker 0: alerts in order)
//! ```
//! Timely time is event time in whole seconds ([`msg::tick`]). A source holds its
//! capability at the lowest watermark of its open partitions (`W_p` = newest time in the
//! partition − `max_lateness`), so a correlator's input frontier is the cluster's watermark,
//! the minimum over partitions (docs/semantics.md S2). Correlators process the events of the
//! seconds the frontier has passed in (time, input position) order and fire the absence
//! deadlines the frontier has passed; worker 0 writes the alerts of those seconds in
//! (time, rule, group, input position) order. So the output is a function of the
//! partitioned input alone, whatever the number of processes and threads.
//!
//! Only what must be timely lives here; the per-worker logic is in [`worker`].

pub mod checkpoint;
mod clock;
mod correlate_step;
mod correlating;
mod error;
pub mod input;
mod metrics;
pub mod msg;
pub mod nats;
mod output;
mod sources;

pub use error::ClusterError;

use crate::compile::RuleSet;
use crate::engine::{Settings, Stats};
use crate::source::Format;
use clock::{tick, tick_start};
use correlate_step::CorrelateStep;
use correlating::Correlating;
use input::Spec;
use msg::Msg;
use output::Output;
use sources::Sources;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::generic::operator::{Operator, source};
use timely::dataflow::{ProbeHandle, Scope, Stream};

/// How far (in ticks, seconds of event time) a partition may read ahead of the
/// correlators' frontier, with several workers: smaller makes them wait on one another
/// more often (measured: 300 s was 30% slower than an hour with two workers).
const AHEAD: u64 = 3600;

/// The same for a worker alone: its frontier moves as soon as its own correlator has run,
/// so reading far ahead only holds events (an hour of them was 11 MB of a 104 MB peak over
/// 200 K events; 300 s made the run 9% faster, 60 s slower again).
const AHEAD_ALONE: u64 = 300;

/// Invalid records reported per partition before the rest are only counted.
pub const MAX_REPORTED_INVALID: u64 = 100;

/// How the processes find one another.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Worker threads per process (`-w`).
    pub threads: usize,
    /// This process's index (`-p`).
    pub process: usize,
    /// Every process's `host:port`, in index order (`-n` of them).
    pub addresses: Vec<String>,
    /// How long to wait for every process to connect.
    pub connect_timeout: std::time::Duration,
}

impl Topology {
    /// One process with `threads` workers.
    pub fn local(threads: usize) -> Topology {
        Topology {
            threads,
            process: 0,
            addresses: vec![],
            connect_timeout: std::time::Duration::from_secs(60),
        }
    }

    /// Reads a hostfile: one `host:port` per line, in process order (blank lines and `#`
    /// comments are ignored). Errors name the file and line.
    pub fn from_hostfile(
        text: &str,
        name: &str,
        processes: usize,
        process: usize,
        threads: usize,
    ) -> Result<Topology, ClusterError> {
        let mut addresses = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let ok = line
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            if !ok {
                return Err(ClusterError::HostfileLine {
                    file: name.to_string(),
                    line: i + 1,
                    text: line.to_string(),
                });
            }
            addresses.push(line.to_string());
        }
        if addresses.len() < processes {
            return Err(ClusterError::TooFewAddresses {
                file: name.to_string(),
                found: addresses.len(),
                processes,
            });
        }
        addresses.truncate(processes);
        if process >= processes {
            return Err(ClusterError::ProcessIndex { process, processes });
        }
        Ok(Topology {
            threads,
            process,
            addresses,
            connect_timeout: std::time::Duration::from_secs(60),
        })
    }

    fn config(&self) -> timely::Config {
        use timely::CommunicationConfig as C;
        let communication = if self.addresses.len() > 1 {
            C::Cluster {
                threads: self.threads,
                process: self.process,
                addresses: self.addresses.clone(),
                report: false,
                zerocopy: false,
            }
        } else if self.threads > 1 {
            C::Process(self.threads)
        } else {
            C::Thread
        };
        timely::Config {
            communication,
            worker: Default::default(),
        }
    }
}

/// Where per-worker metrics lines go (shared by the workers of a process).
pub type MetricsOut = std::sync::Arc<std::sync::Mutex<Box<dyn Write + Send>>>;

/// A cluster run.
pub struct Job {
    /// The rules (shared by every worker of the process for its whole life).
    pub set: &'static RuleSet,
    /// Engine settings (the same in every process).
    pub settings: Settings,
    /// Input format of the partitions' records.
    pub format: Format,
    /// How alerts are written.
    pub output: crate::alert::Format,
    /// The partitions.
    pub spec: Spec,
    /// Longest accepted line.
    pub max_line: usize,
    /// Processes and threads.
    pub topology: Topology,
    /// Checkpoints to write.
    pub checkpoint: Option<checkpoint::Config>,
    /// Resume from the latest checkpoint; the output already holds this many alerts.
    pub resume: Option<u64>,
    /// Set it to end every partition (end of input): SIGINT/SIGTERM in the CLI.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Move a silent partition's time to the wall clock after this long (not deterministic).
    pub idle_timeout: Option<std::time::Duration>,
    /// Per-worker metrics: where, and how often.
    pub metrics: Option<(MetricsOut, std::time::Duration)>,
}

/// Runs the job; alerts go to `out` on process 0. Returns the run's counters on process
/// 0 (`None` elsewhere).
pub fn run(job: Job, out: Box<dyn Write + Send>) -> Result<Option<Stats>, ClusterError> {
    job.spec.check(job.max_line)?;
    let config = job.topology.config();
    let restored = std::sync::Arc::new(resume_from(&job)?);
    let out = std::sync::Mutex::new(Some(out));
    let job = std::sync::Arc::new(job);
    let timely::Config {
        communication,
        worker: worker_config,
    } = config;
    let (allocators, others) = connect(&job.topology, communication)?;
    let guards = timely::execute::execute_from(allocators, others, worker_config, move |worker| {
        let index = worker.index();
        let peers = worker.peers();
        let job = job.clone();
        let mut inputs = Vec::new();
        let mut errors = Vec::new();
        let restored = restored.as_ref().as_ref();
        for p in (0..job.spec.count()).filter(|p| *p as usize % peers == index) {
            match job
                .spec
                .open(p, job.max_line, restored.map(|r| &r.parts[p as usize]))
            {
                Ok(i) => inputs.push((p, i)),
                Err(e) => errors.push(e.to_string()),
            }
        }
        let sink: Option<Box<dyn Write + Send>> = if index == 0 {
            out.lock().ok().and_then(|mut o| o.take())
        } else {
            None
        };
        let result: Rc<RefCell<Option<Stats>>> = Rc::new(RefCell::new(None));
        let failures: Rc<RefCell<Vec<String>>> = Rc::new(RefCell::new(errors));
        build(
            worker,
            &job,
            restored,
            inputs,
            sink,
            result.clone(),
            failures.clone(),
        );
        while worker.step_or_park(None) {}
        let failures = failures.borrow().clone();
        let stats = result.borrow_mut().take();
        (stats, failures)
    })
    .map_err(ClusterError::Workers)?;
    let mut stats = None;
    let mut failures = Vec::new();
    for r in guards.join() {
        let (s, f) = r.map_err(ClusterError::Workers)?;
        stats = stats.or(s);
        failures.extend(f);
    }
    if failures.is_empty() {
        Ok(stats)
    } else {
        Err(ClusterError::Workers(failures.join("\n")))
    }
}

/// The checkpoint a `--resume` run starts from. Read before any process connects: no
/// checkpoint can be written before every process has read the one it resumes from.
fn resume_from(job: &Job) -> Result<Option<checkpoint::Restored>, ClusterError> {
    let restored = match (&job.resume, &job.checkpoint) {
        (Some(_), Some(c)) => checkpoint::load_latest(&c.dir, job.spec.count())?,
        (Some(_), None) => return Err(ClusterError::NoCheckpointDir),
        _ => None,
    };
    if let (Some(r), Some(m), 0) = (&restored, job.resume, job.topology.process) {
        if m < r.alerts {
            return Err(ClusterError::OutputTooShort {
                found: m,
                before: r.alerts,
            });
        }
    }
    Ok(restored)
}

/// What timely builds the workers' communication from.
type Connections = (
    Vec<timely::communication::AllocatorBuilder>,
    Box<dyn std::any::Any + Send>,
);

/// The processes' connections. Connecting blocks until every process is there (timely
/// retries forever): it waits on a thread, and gives up with a clear error after the
/// timeout.
fn connect(
    topology: &Topology,
    communication: timely::CommunicationConfig,
) -> Result<Connections, ClusterError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(communication.try_build());
    });
    match rx.recv_timeout(topology.connect_timeout) {
        Ok(Ok(built)) => Ok(built),
        Ok(Err(message)) => Err(ClusterError::Join {
            process: topology.process,
            address: topology
                .addresses
                .get(topology.process)
                .map_or("-", String::as_str)
                .to_string(),
            message,
        }),
        Err(_) => Err(ClusterError::ConnectTimeout {
            process: topology.process,
            seconds: topology.connect_timeout.as_secs(),
            addresses: topology.addresses.join(", "),
            count: topology.addresses.len(),
        }),
    }
}

type Worker = timely::worker::Worker;

/// What a worker's output operator reports to the process.
struct Reports {
    /// The run's counters (worker 0, at the end).
    result: Rc<RefCell<Option<Stats>>>,
    /// Errors for stderr and the exit status.
    failures: Rc<RefCell<Vec<String>>>,
}

/// The dataflow of one worker: its partitions → the correlators (exchanged by group) → the
/// output on worker 0.
fn build(
    worker: &mut Worker,
    job: &Job,
    restored: Option<&checkpoint::Restored>,
    inputs: Vec<(u32, Box<dyn input::Partition>)>,
    sink: Option<Box<dyn Write + Send>>,
    result: Rc<RefCell<Option<Stats>>>,
    failures: Rc<RefCell<Vec<String>>>,
) {
    let workers = worker.peers() as u64;
    let index = worker.index() as u64;
    let sources = Sources::new(job, workers, inputs, restored);
    let shared = Rc::new(std::cell::Cell::new(sources::SourceMetrics::default()));
    let metrics = job.metrics.as_ref().map(|(out, every)| metrics::Metrics {
        out: out.clone(),
        every: *every,
        last: std::time::Instant::now(),
        process: job.topology.process,
        worker: index as usize,
    });
    let state = match Correlating::new(
        job.set,
        &job.settings,
        job.output.clone(),
        restored,
        index,
        workers,
    ) {
        Ok(mut s) => {
            if let Some(c) = &job.checkpoint {
                s.incremental(c.full_every);
            }
            s
        }
        Err(e) => {
            failures.borrow_mut().push(format!("cannot resume: {e}"));
            return;
        }
    };
    let every = job.checkpoint.as_ref().map(|c| c.every.max(1));
    let step = CorrelateStep::new(state, every, index, metrics, shared.clone());
    let output = Output::new(
        job.checkpoint
            .clone()
            .map(|c| (c, job.spec.count(), workers)),
        // Resuming: the alerts before the checkpoint (none without one: the run starts
        // over), and those the output holds after them, to skip.
        job.resume.map(|m| {
            let n = restored.map_or(0, |r| r.alerts);
            (n, m.saturating_sub(n))
        }),
    );
    let reports = Reports { result, failures };
    // The correlators' progress, for the sources' flow control.
    let probe: ProbeHandle<u64> = ProbeHandle::new();
    let progress = probe.clone();
    let first = index == 0;
    worker.dataflow::<u64, _, _>(move |scope| {
        let read = partitions(scope, sources, progress, shared);
        let correlated = correlate(read, step).probe_with(&probe);
        write_output(correlated, output, sink, first, reports);
    });
}

/// The source: reads the worker's partitions, holding its capability at the lowest
/// partition watermark (so the correlators' frontier is the cluster's watermark, S2).
fn partitions<'s>(
    scope: Scope<'s, u64>,
    mut sources: Sources,
    progress: ProbeHandle<u64>,
    shared: Rc<std::cell::Cell<sources::SourceMetrics>>,
) -> Stream<'s, u64, Vec<Msg>> {
    let alone = scope.peers() == 1;
    let ahead = if alone { AHEAD_ALONE } else { AHEAD };
    source(scope, "Partitions", move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(cap);
        let mut out = Vec::new();
        let mut errors = Vec::new();
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            let frontier = progress.with_frontier(|f| f.first().copied());
            let read = sources.step(frontier.map(|f| f + ahead), &mut out, &mut errors);
            shared.set(sources.metrics());
            for e in errors.drain(..) {
                eprintln!("{e}");
            }
            if !out.is_empty() {
                output.session(&*c).give_iterator(out.drain(..));
            }
            if sources.done() {
                cap = None;
                return;
            }
            if let Some(low) = sources.low() {
                let t = tick(low);
                if t > *c.time() {
                    c.downgrade(&t);
                }
            }
            if read || alone {
                // Alone, the correlator runs before this does again: nothing to wait for.
                activator.activate();
            } else {
                // Every partition is ahead: wait for the other workers to catch up.
                activator.activate_after(std::time::Duration::from_millis(1));
            }
        }
    })
    .container::<Vec<Msg>>()
}

/// The correlators: events exchanged to the worker owning their group, processed once the
/// frontier has passed their second ([`CorrelateStep`]).
fn correlate<'s>(
    read: Stream<'s, u64, Vec<Msg>>,
    mut step: CorrelateStep,
) -> Stream<'s, u64, Vec<Msg>> {
    read.unary_frontier(
        Exchange::new(|m: &Msg| m.route()),
        "Correlate",
        move |cap, _info| {
            step.start(cap);
            move |(input, frontier), output| {
                input.for_each(|time, data| {
                    // Every message is sent under a capability.
                    let Some(c) = time.retain_least(output.output_index()) else {
                        return;
                    };
                    let forward = step.receive(data.drain(..));
                    if !forward.is_empty() {
                        output.session(&c).give_iterator(forward.into_iter());
                    }
                });
                let f: Option<u64> = frontier.frontier().iter().min().copied();
                for (c, msgs) in step.advance(f) {
                    output.session(&c).give_iterator(msgs.into_iter());
                }
            }
        },
    )
    .container::<Vec<Msg>>()
}

/// Worker 0's sink: alerts written in order as the frontier passes them, the checkpoints,
/// and at the end the run's counters.
fn write_output(
    correlated: Stream<'_, u64, Vec<Msg>>,
    mut output: Output,
    mut sink: Option<Box<dyn Write + Send>>,
    first: bool,
    reports: Reports,
) {
    correlated.sink(
        Exchange::new(|_: &Msg| 0),
        "Output",
        move |(input, frontier)| {
            input.for_each(|_time, data| {
                for m in data.drain(..) {
                    output.take(m);
                }
            });
            let f: Option<u64> = frontier.frontier().iter().min().copied();
            if let Some(w) = sink.as_mut() {
                let before = output.alerts;
                let mut done = output.release(f.map(tick_start), w);
                // A live stream sees its alerts as the frontier passes them.
                if f.is_none() || output.alerts != before {
                    done = done.and_then(|_| w.flush());
                }
                if let Err(e) = done {
                    if e.kind() != std::io::ErrorKind::BrokenPipe {
                        reports
                            .failures
                            .borrow_mut()
                            .push(format!("cannot write alerts or checkpoint: {e}"));
                    }
                    sink = None;
                }
            }
            if first && f.is_none() && reports.result.borrow().is_none() {
                *reports.result.borrow_mut() = Some(output.stats());
            }
        },
    );
}
