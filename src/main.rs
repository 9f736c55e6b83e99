//! The `ward` binary: see `ward --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
