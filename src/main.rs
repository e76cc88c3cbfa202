//! The `session-sigma` command: the library's CLI layer (`session_sigma::cli`), which maps
//! outcomes to exit codes: 0 success, 1 rule tests failed / lint errors, 2 usage or input
//! errors.

#![forbid(unsafe_code)]

/// See Cargo.toml: the allocator of the command, not of the library.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    session_sigma::cli::main()
}
