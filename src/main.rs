//! The `session-sigma` command. All logic lives in the library; this maps outcomes to exit
//! codes: 0 success, 1 rule tests failed / lint errors, 2 usage or input errors.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
