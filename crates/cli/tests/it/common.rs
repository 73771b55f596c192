//! Running the binary: a node (`scal3ml dev`, or `scal3ml node` in front of another chain) in a temporary data
//! directory, and CLI commands against it.

#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

/// The built `scal3ml`.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scal3ml")
}

/// A free port on 127.0.0.1 (bound and released; the node binds it again at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server process, stopped (SIGTERM, then waited for) on drop.
pub struct Server {
    child: Option<Child>,
    /// What it printed on stdout up to `Listening on`.
    pub banner: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts `scal3ml ARGS` and waits for its `Listening on HOST:PORT` line.
    #[allow(
        clippy::zombie_processes,
        reason = "the child is waited for in `stop`, which `Drop` calls"
    )]
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start scal3ml");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        let started = Instant::now();
        loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).unwrap();
            assert!(
                n > 0,
                "scal3ml {args:?} exited before listening; it printed:\n{banner}"
            );
            banner.push_str(&line);
            if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                let url = format!("http://{addr}");
                // Keep draining stdout so the process never blocks on a full pipe.
                std::thread::spawn(move || for _ in out.lines() {});
                return Self {
                    child: Some(child),
                    banner,
                    url,
                };
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "scal3ml {args:?} did not start"
            );
        }
    }

    /// Stops the process gracefully and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// Kills the process with SIGKILL (no chance to flush or clean up) and waits for it.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `scal3ml dev` in `dir` on fixed ports (so a restart keeps the URL the chain records as the gateway).
pub struct DevNode {
    pub server: Server,
    pub dir: PathBuf,
    port: u16,
}

impl DevNode {
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    fn start_on(dir: &Path, port: u16) -> Self {
        let server = Server::start(
            &[
                "dev",
                "--data-dir",
                dir.to_str().unwrap(),
                "--port",
                &port.to_string(),
                "--rpc-port",
                "0",
            ],
            &[],
        );
        Self {
            server,
            dir: dir.to_path_buf(),
            port,
        }
    }

    /// Stops and starts again on the same data directory and port.
    pub fn restart(self) -> Self {
        self.restart_after(|_| {})
    }

    /// Kills the node with SIGKILL, whatever it is doing, and starts again on the same data directory and port.
    pub fn crash_and_restart(self) -> Self {
        let DevNode {
            mut server,
            dir,
            port,
        } = self;
        server.kill_9();
        Self::start_on(&dir, port)
    }

    /// Stops, runs `between` on the data directory, and starts again on it and the same port.
    pub fn restart_after(self, between: impl FnOnce(&Path)) -> Self {
        let DevNode {
            mut server,
            dir,
            port,
        } = self;
        server.stop();
        between(&dir);
        Self::start_on(&dir, port)
    }
}

/// Runs `scal3ml ARGS` against the node at `node` and returns its output.
pub fn run(node: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("SCAL3ML_NODE", node)
        .env_remove("SCAL3ML_PRIVATE_KEY")
        .output()
        .expect("run scal3ml")
}

/// Runs a command that must succeed and prints JSON (`--json` is added); returns the JSON.
pub fn json(node: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run(node, &all);
    assert!(
        out.status.success(),
        "scal3ml {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scal3ml {args:?} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs a command that must fail; returns its stderr.
pub fn fails(node: &str, args: &[&str]) -> String {
    let out = run(node, args);
    assert!(
        !out.status.success(),
        "scal3ml {args:?} should have failed but printed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Dev account `i` of the dev mnemonic (the accounts `scal3ml dev` funds), derived as the devnet derives them.
pub fn dev_key(i: usize) -> alloy::signers::local::PrivateKeySigner {
    let keys = scal3ml_devnet::DevAccounts::from_mnemonic(scal3ml_devnet::DEFAULT_MNEMONIC, 10)
        .unwrap()
        .keys();
    alloy::signers::local::PrivateKeySigner::from_bytes(&keys[i].1).unwrap()
}

/// The body of `GET url` as text (a failed request fails the test).
pub async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// The body of `GET url` as JSON (a failed request or a body that is not JSON fails the test).
pub async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// Signs `key` in with Ethereum at the node's access gateway, as the pages do (GET /access/nonce, an EIP-4361
/// message signed with `personal_sign`, POST /access/siwe); returns the session token, which the node takes as
/// `Authorization: Bearer` (a browser keeps the cookie it also sets).
pub async fn sign_in(
    http: &reqwest::Client,
    node: &str,
    key: &alloy::signers::local::PrivateKeySigner,
) -> String {
    use alloy::signers::Signer as _;
    let nonce = get_json(http, &format!("{node}/access/nonce")).await["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let host = node.trim_start_matches("http://");
    let message = format!(
        "{host} wants you to sign in with your Ethereum account:\n{}\n\nSign in to upload.\n\nURI: {node}/access\n\
         Version: 1\nChain ID: 31337\nNonce: {nonce}\nIssued At: {}",
        key.address(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let signature = key.sign_message(message.as_bytes()).await.unwrap();
    let reply: Value = http
        .post(format!("{node}/access/siwe"))
        .json(&serde_json::json!({
            "message": message,
            "signature": format!("0x{}", alloy::primitives::hex::encode(signature.as_bytes())),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-in refused: {reply}"))
        .to_string()
}

/// A CAR of one file holding `bytes`, and the file's CID.
pub async fn car_of(bytes: &[u8]) -> (Vec<u8>, scal3ml_store::Cid) {
    let store = scal3ml_store::MemStore::new();
    let cid = scal3ml_store::add_reader(
        &store,
        std::io::Cursor::new(bytes.to_vec()),
        scal3ml_market::content::import_options(),
    )
    .await
    .unwrap()
    .cid;
    let mut car = Vec::new();
    scal3ml_store::car::export_car(&store, &[cid], &mut car)
        .await
        .unwrap();
    (car, cid)
}
