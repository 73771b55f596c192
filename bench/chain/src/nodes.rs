//! Starting and stopping the three nodes, timing their start-up and reading their resident memory.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use alloy::providers::{Provider, RootProvider};
use anyhow::{Context, bail};

/// Which node a run talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum NodeKind {
    /// `scal3ml devnet --port 0`.
    Devnet,
    /// `scal3ml devnet --port 0 --data-dir TMP`: every block on disk before its receipt is readable.
    DevnetDisk,
    /// `hardhat node` (npm hardhat 2.x) from tests/interop/chain.
    Hardhat,
    /// `ganache` (npm ganache 7.x) from tests/interop/chain.
    Ganache,
}

impl NodeKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Devnet => "scal3ml devnet",
            Self::DevnetDisk => "scal3ml devnet --data-dir",
            Self::Hardhat => "hardhat node",
            Self::Ganache => "ganache",
        }
    }
}

/// Where the programs are.
#[derive(Clone, Debug)]
pub(crate) struct Programs {
    /// The scal3ml binary (release build).
    pub(crate) scal3ml: PathBuf,
    /// tests/interop/chain, with node_modules installed (`npm ci`).
    pub(crate) npm_dir: PathBuf,
}

/// A running node; killed on drop.
pub(crate) struct RunningNode {
    pub(crate) url: String,
    /// Wall time from spawning the process to its first eth_chainId answer.
    pub(crate) startup: Duration,
    child: Child,
    /// Removed after the node is killed (fields drop after `Drop::drop`).
    _data_dir: Option<tempfile::TempDir>,
}

impl RunningNode {
    /// Resident memory of the node's process and all its descendants, in bytes.
    pub(crate) fn resident_bytes(&self) -> anyhow::Result<u64> {
        tree_rss(self.child.id())
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn npm_bin(npm_dir: &Path, rel: &str) -> anyhow::Result<PathBuf> {
    let path = npm_dir.join("node_modules").join(rel);
    if !path.exists() {
        bail!(
            "{} is missing: run `npm ci` in {}",
            path.display(),
            npm_dir.display()
        );
    }
    Ok(path)
}

/// Starts a node and waits (at most `timeout`) until it answers eth_chainId.
pub(crate) async fn start(
    kind: NodeKind,
    programs: &Programs,
    timeout: Duration,
) -> anyhow::Result<RunningNode> {
    let data_dir = match kind {
        NodeKind::DevnetDisk => Some(tempfile::tempdir().context("creating a data directory")?),
        _ => None,
    };
    let started = Instant::now();
    let (mut child, url_rx) = match kind {
        NodeKind::Devnet | NodeKind::DevnetDisk => {
            if !programs.scal3ml.exists() {
                bail!(
                    "{} does not exist: build it with `cargo build --release -p scal3ml` or pass --scal3ml",
                    programs.scal3ml.display()
                );
            }
            let mut command = Command::new(&programs.scal3ml);
            command.args(["devnet", "--port", "0"]);
            if let Some(dir) = &data_dir {
                command.arg("--data-dir").arg(dir.path());
            }
            let mut child = command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {}", programs.scal3ml.display()))?;
            // Read the bound address from stdout, then keep draining it so the node never blocks on a full pipe.
            let stdout = child.stdout.take().expect("stdout is piped");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut sent = false;
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if !sent && let Some(url) = find_url(&line) {
                        let _ = tx.send(url);
                        sent = true;
                    }
                }
            });
            (child, Some(rx))
        }
        NodeKind::Hardhat | NodeKind::Ganache => {
            let port = free_port()?.to_string();
            let mut command = Command::new("node");
            if kind == NodeKind::Hardhat {
                command
                    .arg(npm_bin(
                        &programs.npm_dir,
                        "hardhat/internal/cli/bootstrap.js",
                    )?)
                    .args(["node", "--hostname", "127.0.0.1", "--port", &port])
                    .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true");
            } else {
                command
                    .arg(npm_bin(&programs.npm_dir, "ganache/dist/node/cli.js")?)
                    .args([
                        "--server.host",
                        "127.0.0.1",
                        "--server.port",
                        &port,
                        "--chain.chainId",
                        "31337",
                        "--wallet.mnemonic",
                        crate::workload::MNEMONIC,
                        "--wallet.totalAccounts",
                        "10",
                        "--wallet.defaultBalance",
                        "10000",
                        "--logging.quiet",
                    ]);
            }
            let child = command
                .current_dir(&programs.npm_dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting node (is Node.js installed?)")?;
            let (tx, rx) = mpsc::channel();
            tx.send(format!("http://127.0.0.1:{port}"))
                .expect("receiver is alive");
            (child, Some(rx))
        }
    };

    let rx = url_rx.expect("every node yields its url");
    let deadline = started + timeout;
    let mut url = None;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "{} exited with {status} before answering eth_chainId",
                kind.label()
            );
        }
        if url.is_none() {
            url = rx.try_recv().ok();
        }
        if let Some(u) = &url {
            let provider = RootProvider::<alloy::network::Ethereum>::new_http(u.parse()?);
            if provider.get_chain_id().await.is_ok() {
                let startup = started.elapsed();
                return Ok(RunningNode {
                    url: u.clone(),
                    startup,
                    child,
                    _data_dir: data_dir,
                });
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "{} did not answer eth_chainId within {timeout:?}",
                kind.label()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The address in the devnet's stdout line `Listening on HOST:PORT` (see crates/cli/src/commands/devnet.rs).
fn find_url(line: &str) -> Option<String> {
    let addr: std::net::SocketAddr = line.trim().strip_prefix("Listening on ")?.parse().ok()?;
    (addr.port() != 0).then(|| format!("http://{addr}"))
}

/// VmRSS of `root` plus every process whose ancestry leads to it (hardhat and ganache may fork helpers).
fn tree_rss(root: u32) -> anyhow::Result<u64> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Field 4 (ppid) follows the command name in parentheses, which may itself contain spaces.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let Some(ppid) = after
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        parents.push((pid, ppid));
    }
    let mut tree = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for &(pid, ppid) in &parents {
            if tree.contains(&ppid) && !tree.contains(&pid) {
                tree.push(pid);
                grew = true;
            }
        }
    }
    let mut total = 0;
    for pid in tree {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        if let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            total += kb * 1024;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_read_from_a_log_line() {
        assert_eq!(
            find_url("Listening on 127.0.0.1:40123").as_deref(),
            Some("http://127.0.0.1:40123")
        );
        assert_eq!(find_url("Listening on 127.0.0.1:0"), None);
        assert_eq!(
            find_url("(0) 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 0xac09"),
            None
        );
    }

    #[test]
    fn own_memory_is_counted() {
        let rss = tree_rss(std::process::id()).unwrap();
        assert!(
            rss > 1 << 20,
            "a running test process holds more than 1 MiB, got {rss}"
        );
    }
}
