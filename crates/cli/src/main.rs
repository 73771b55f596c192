//! The `scal3ml` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Err(err) = scal3ml::config::load(&args) {
        eprintln!("error: {err:#}");
        return std::process::ExitCode::FAILURE;
    }
    let cli = scal3ml::Cli::parse_from(args);
    scal3ml::init_tracing(cli.verbose);
    match scal3ml::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
