//! The `session-sigma` command: the library's CLI layer (`session_sigma::cli`), which maps
//! outcomes to exit codes: 0 success, 1 rule tests failed / lint errors, 2 usage or input
//! errors.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    session_sigma::cli::main()
}
