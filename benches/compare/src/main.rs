//! Engine comparison: session-sigma, rsigma (rsigma-eval) and sigma-rust on the same events
//! and rules, end to end (JSON line → matches), single-threaded. See README.md.

#[path = "../../gen/mod.rs"]
mod generator;

mod args;
mod child;
mod data;
mod engines;
mod known;
mod replay;
mod report;
mod rules;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", args::USAGE);
        return ExitCode::from(if argv.is_empty() { 2 } else { 0 });
    }
    let args = match args::Args::parse(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let outcome = match args.command.as_str() {
        "all" => report::run(&args),
        "run-one" => child::run(&args),
        "prepare" => prepare(&args),
        other => {
            eprintln!("error: unknown subcommand `{other}`\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn prepare(args: &args::Args) -> Result<(), String> {
    args.allow(&["events", "real-events", "rules", "seed", "work"])?;
    let plan = data::Plan::from_args(args)?;
    let (datasets, notes) = data::prepare(&plan)?;
    for note in notes {
        eprintln!("{note}");
    }
    for ds in datasets {
        println!("{}", ds.events_file.display());
        for (_, _, path) in &ds.rule_files {
            println!("{}", path.display());
        }
    }
    Ok(())
}
