//! `scal3ml-devnet`: the chain alone, with only the flags a test harness needs (`--port N`, `--data-dir DIR`,
//! `--block-time SECONDS`, `--no-mining`, `--snapshot-every BLOCKS`). Prints `Listening on HOST:PORT` on
//! stdout once it serves. The full command with every flag is `scal3ml devnet`.

use std::time::Duration;

use scal3ml_devnet::{DevnetConfig, MiningMode, spawn};

fn usage(msg: &str) -> ! {
    eprintln!(
        "error: {msg}\nusage: scal3ml-devnet [--port N] [--data-dir DIR] [--block-time SECONDS] [--no-mining] [--snapshot-every BLOCKS]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut config = DevnetConfig::default().with_quiet(true);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--port" => {
                config.port = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--port takes a number"))
            }
            "--data-dir" => config.data_dir = Some(value().into()),
            "--block-time" => {
                let secs: f64 = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--block-time takes seconds"));
                config.mining = MiningMode::Interval(Duration::from_secs_f64(secs));
            }
            "--no-mining" => config.mining = MiningMode::Manual,
            "--snapshot-every" => {
                config.snapshot_every = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--snapshot-every takes a block count"))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let handle = match spawn(config).await {
        Ok(h) => h,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
    println!("Listening on {}", handle.addr());
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
}
