//! `compare all`: prepares the inputs, runs each engine in a child process per (dataset,
//! rule file), checks that the engines agree, and prints the table.

use crate::args::Args;
use crate::child::{self, RunResult};
use crate::data::{self, Dataset, Plan};
use crate::engines::Kind;
use crate::known;
use crate::rules::RuleFile;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// One line of the table.
struct Row {
    dataset: &'static str,
    rules: String,
    engine: &'static str,
    result: Result<RunResult, String>,
    /// Peak RSS of the child, KiB.
    peak_kib: u64,
    baseline_kib: u64,
    agree: String,
}

pub fn run(args: &Args) -> Result<(), String> {
    args.allow(&[
        "events",
        "real-events",
        "rules",
        "engines",
        "runs",
        "budget",
        "seed",
        "work",
    ])?;
    let plan = Plan::from_args(args)?;
    let names: Vec<String> = args.list("engines", &Kind::COMPARED.map(|k| k.name().to_string()))?;
    let engines = names
        .iter()
        .map(|n| Kind::parse(n))
        .collect::<Result<Vec<_>, _>>()?;
    let runs: usize = args.value("runs", 3)?;
    let budget: f64 = args.value("budget", 15.0)?;
    let (datasets, mut notes) = data::prepare(&plan)?;
    notes.push(format!(
        "each engine: one child process per rule file, single thread, best of {runs} runs; a run predicted (1,000-event probe) to take longer than {budget} s is capped to a prefix of the events"
    ));
    for note in &notes {
        println!("{note}");
    }

    let mut rows = Vec::new();
    let mut differing = 0;
    let mut unexplained = 0;
    for ds in &datasets {
        for (label, count, rules_path) in &ds.rule_files {
            let rules_label = if label == "pack" {
                format!("pack {count}")
            } else {
                format!("{count}")
            };
            let baseline = spawn(Kind::None, ds, rules_path, runs, budget, None)
                .map(|(_, kib)| kib)
                .unwrap_or(0);
            let mut group = Vec::new();
            for &kind in &engines {
                let out =
                    plan.work
                        .join(format!("matches-{}-{label}-{}.tsv", ds.name, kind.name()));
                eprintln!(
                    "running {} on {} events ({}), {} rules…",
                    kind.name(),
                    ds.events,
                    ds.name,
                    rules_label
                );
                let (result, peak_kib) = match spawn(kind, ds, rules_path, runs, budget, Some(&out))
                {
                    Ok((r, kib)) => (Ok(r), kib),
                    Err(e) => {
                        eprintln!("  FAILED: {e}");
                        (Err(e), 0)
                    }
                };
                group.push(Row {
                    dataset: ds.name,
                    rules: rules_label.clone(),
                    engine: kind.name(),
                    result,
                    peak_kib,
                    baseline_kib: baseline,
                    agree: String::new(),
                });
            }
            let agreement = check_agreement(ds, rules_path, &rules_label, &mut group)?;
            differing += agreement.differing;
            unexplained += agreement.unexplained;
            rows.extend(group);
        }
    }
    print_table(&rows);
    for row in &rows {
        if let Ok(r) = &row.result
            && r.capped
        {
            println!(
                "capped: {} on {} events with {} rules ran the first {} of {} events (a full run would exceed the {budget} s budget)",
                row.engine,
                row.dataset,
                row.rules,
                thousands(r.events as u64),
                thousands(r.events_available as u64)
            );
        }
    }
    println!("\n{}", notes.join("\n"));
    if differing > 0 {
        println!(
            "\nMISMATCHES: {differing} engine/rule-set pair(s) differ from session-sigma, {unexplained} of them on rules without a known cause (reports above; README.md, `Known differences`)."
        );
    } else {
        println!("\nAll engines report the same matches.");
    }
    Ok(())
}

/// Runs `compare run-one` for `kind`; returns its result and its peak RSS (KiB, as the
/// child measured it: see `child::peak_rss_kib`).
fn spawn(
    kind: Kind,
    ds: &Dataset,
    rules: &Path,
    runs: usize,
    budget: f64,
    matches_out: Option<&Path>,
) -> Result<(RunResult, u64), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut command = Command::new(exe);
    command
        .arg("run-one")
        .args(["--engine", kind.name()])
        .arg("--events-file")
        .arg(&ds.events_file)
        .arg("--rules-file")
        .arg(rules)
        .args(["--runs", &runs.to_string(), "--budget", &budget.to_string()]);
    if let Some(out) = matches_out {
        command.arg("--matches-out").arg(out);
    }
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the child process: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`compare run-one --engine {}` failed ({})",
            kind.name(),
            output.status
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: RunResult = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("unreadable child result `{}`: {e}", stdout.trim()))?;
    let kib = result.peak_rss_kib.unwrap_or(0);
    Ok((result, kib))
}

/// How one group's engines compared.
#[derive(Default)]
struct Agreement {
    /// Engines whose matches differ from the reference.
    differing: usize,
    /// Of those, engines with a difference on a rule that [`known`] does not explain.
    unexplained: usize,
}

/// Compares the (rule, event) pairs of the engines of one group on the events all of
/// them processed; fills `agree`, prints a check line and, for every difference, a
/// MISMATCH report.
fn check_agreement(
    ds: &Dataset,
    rules_path: &Path,
    rules_label: &str,
    group: &mut [Row],
) -> Result<Agreement, String> {
    let mut agreement = Agreement::default();
    let done: Vec<usize> = (0..group.len())
        .filter(|&i| group[i].result.is_ok())
        .collect();
    if done.len() < 2 {
        for row in group.iter_mut() {
            row.agree = "n/a".into();
        }
        return Ok(agreement);
    }
    let common = done
        .iter()
        .filter_map(|&i| group[i].result.as_ref().ok().map(|r| r.events))
        .min()
        .unwrap_or(0) as u32;
    let mut sets: BTreeMap<usize, HashSet<(u32, u32)>> = BTreeMap::new();
    for &i in &done {
        let Ok(result) = &group[i].result else {
            continue;
        };
        let Some(file) = &result.matches_file else {
            return Err(format!("{}: no matches file", group[i].engine));
        };
        let pairs = child::read_pairs(file)?;
        sets.insert(i, pairs.into_iter().filter(|p| p.1 < common).collect());
    }
    // The reference is session-sigma when it ran, else the first engine that did.
    let reference = done
        .iter()
        .copied()
        .find(|&i| group[i].engine == Kind::SessionSigma.name())
        .unwrap_or(done[0]);
    let capped = done.iter().any(|&i| {
        group[i]
            .result
            .as_ref()
            .is_ok_and(|r| r.events as u32 > common)
    });
    let star = if capped { "*" } else { "" };
    let empty = HashSet::new();
    let ref_set = sets.get(&reference).unwrap_or(&empty);
    let ref_name = group[reference].engine;
    println!(
        "\ncheck {} events, {rules_label} rules, first {} events: {ref_name} reports {} (rule, event) matches",
        ds.name,
        thousands(u64::from(common)),
        thousands(ref_set.len() as u64)
    );

    let mut inputs: Option<(Vec<String>, RuleFile)> = None;
    for &i in &done {
        if i == reference {
            continue;
        }
        let name = group[i].engine;
        let other = sets.get(&i).unwrap_or(&empty);
        let mut only_ref: Vec<(u32, u32)> = ref_set.difference(other).copied().collect();
        let mut only_other: Vec<(u32, u32)> = other.difference(ref_set).copied().collect();
        if only_ref.is_empty() && only_other.is_empty() {
            println!("  {name}: the same matches");
            group[i].agree = format!("yes{star}");
            continue;
        }
        agreement.differing += 1;
        only_ref.sort_unstable();
        only_other.sort_unstable();
        if inputs.is_none() {
            let text = std::fs::read_to_string(&ds.events_file)
                .map_err(|e| format!("cannot read {}: {e}", ds.events_file.display()))?;
            let lines = text.lines().map(str::to_string).collect();
            let text = std::fs::read_to_string(rules_path)
                .map_err(|e| format!("cannot read {}: {e}", rules_path.display()))?;
            inputs = Some((lines, RuleFile::new(text)?));
        }
        let Some((lines, rules)) = &inputs else {
            continue;
        };
        println!(
            "\nMISMATCH {} events, {rules_label} rules, {name} vs {ref_name} (first {} events): {} matches only {ref_name} reports, {} only {name} reports",
            ds.name,
            thousands(u64::from(common)),
            thousands(only_ref.len() as u64),
            thousands(only_other.len() as u64)
        );
        let mut causes: BTreeMap<String, Option<&str>> = BTreeMap::new();
        for (who, pairs) in [(ref_name, &only_ref), (name, &only_other)] {
            if pairs.is_empty() {
                continue;
            }
            let mut per_rule: BTreeMap<u32, usize> = BTreeMap::new();
            for (r, _) in pairs.iter() {
                *per_rule.entry(*r).or_default() += 1;
            }
            for r in per_rule.keys() {
                let t = title(rules, *r);
                let why = known::cause(name, &t);
                causes.insert(t, why);
            }
            let mut per_rule: Vec<(u32, usize)> = per_rule.into_iter().collect();
            per_rule.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            println!("  only {who}, by rule (top 5 of {}):", per_rule.len());
            for (r, n) in per_rule.iter().take(5) {
                println!("    {n:>7}  {}", title(rules, *r));
            }
            println!("  examples (one per rule):");
            let mut seen_rules = HashSet::new();
            for (r, e) in pairs.iter().filter(|p| seen_rules.insert(p.0)).take(4) {
                let line = lines.get(*e as usize).map_or("?", String::as_str);
                println!(
                    "    rule `{}`, event {e}: {}",
                    title(rules, *r),
                    clip(line, 240)
                );
            }
        }
        let unexplained = causes.values().filter(|c| c.is_none()).count();
        for (t, why) in &causes {
            match why {
                Some(why) => println!("  known difference, `{t}`: {why}"),
                None => println!("  UNEXPLAINED difference on `{t}`"),
            }
        }
        group[i].agree = if unexplained == 0 {
            format!("NO −{} +{} (known)", only_ref.len(), only_other.len())
        } else {
            agreement.unexplained += 1;
            format!("NO −{} +{}", only_ref.len(), only_other.len())
        };
    }
    group[reference].agree = if agreement.differing > 0 {
        "(ref)".into()
    } else {
        format!("yes{star}")
    };
    Ok(agreement)
}

fn title(rules: &RuleFile, r: u32) -> String {
    rules
        .titles
        .get(r as usize)
        .cloned()
        .unwrap_or_else(|| format!("<rule {r}: not in the rule file>"))
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(eps: f64) -> String {
    if eps >= 1e6 {
        format!("{:.2} M", eps / 1e6)
    } else if eps >= 1e3 {
        format!("{:.1} K", eps / 1e3)
    } else {
        format!("{eps:.0}")
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<9} {:>8} {:<13} {:>9} {:>10} {:>7} {:>9} {:>9} {:>9} {:>9} {:<10}",
        "events",
        "rules",
        "engine",
        "n",
        "events/s",
        "ratio",
        "peak MiB",
        "+base",
        "compile",
        "matches",
        "agree?"
    );
    let mut reference: Option<f64> = None;
    let mut last_group = (String::new(), String::new());
    for row in rows {
        let group = (row.dataset.to_string(), row.rules.clone());
        if group != last_group {
            reference = rows
                .iter()
                .filter(|r| r.dataset == row.dataset && r.rules == row.rules)
                .find(|r| r.engine == Kind::SessionSigma.name())
                .and_then(|r| r.result.as_ref().ok())
                .and_then(RunResult::events_per_sec);
            last_group = group;
        }
        match &row.result {
            Err(e) => println!(
                "{:<9} {:>8} {:<13} FAILED: {}",
                row.dataset,
                row.rules,
                row.engine,
                clip(e, 120)
            ),
            Ok(r) => {
                let eps = r.events_per_sec().unwrap_or(0.0);
                let ratio = reference.map_or("-".to_string(), |base| format!("{:.2}", eps / base));
                let n = format!(
                    "{}{}",
                    thousands(r.events as u64),
                    if r.capped { "c" } else { "" }
                );
                println!(
                    "{:<9} {:>8} {:<13} {:>9} {:>10} {:>7} {:>9} {:>9} {:>7.0}ms {:>9} {:<10}",
                    row.dataset,
                    row.rules,
                    row.engine,
                    n,
                    rate(eps),
                    ratio,
                    mib(row.peak_kib),
                    mib(row.peak_kib.saturating_sub(row.baseline_kib)),
                    r.compile_secs * 1000.0,
                    thousands(r.matches),
                    row.agree
                );
            }
        }
    }
    println!(
        "\nn: events per run (c: capped by the time budget; the agreement check then covers the events every engine ran, marked *).\n\
         events/s: best of the runs, JSON line -> matches, single thread. ratio: events/s over session-sigma's.\n\
         peak MiB: peak resident set (VmHWM) of the engine's child process; +base: minus the peak of a child that only loads the same inputs.\n\
         matches: (rule, event) pairs in the timed run (over its n events). agree?: the same set of (rule, event)\n\
         pairs as session-sigma (ref), on the events all engines ran (see the `check` lines); (known): a documented difference."
    );
}
