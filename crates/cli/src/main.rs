//! The `scal3ml` binary: parse the command line, set up logging, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // A closed pipe (`scal3ml search x | head`) ends the process quietly, as it does for other Unix tools,
    // instead of making `println!` panic.
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
