//! `scal3ml store ...`: add, cat, get, ls, export-car, import-car, pin, unpin, gc, stat over the local
//! on-disk block store; fetch (from a trustless gateway) and remote-pin (on a pinning service) over HTTP(S),
//! trusting the system's CAs plus `--ca-cert` / `SCAL3ML_CA_CERT`. Results go to stdout (`--json` for scripts, `--quiet` for the bare root CID); progress
//! bars go to stderr.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use scal3ml_store::crypt::{self, EncryptReader, FileKey};
use scal3ml_store::export::{self, Kind};
use scal3ml_store::gateway::GatewayClient;
use scal3ml_store::http::{CA_CERT_ENV, HttpClient, HttpConfig};
use scal3ml_store::pinning::{Pin, PinningClient};
use scal3ml_store::{
    Block, BlockStore, BoxFuture, Cid, FsStore, ImportOptions, PinMode, PinStore, StoreResult,
    add_path, add_reader, car,
};
use serde_json::json;

/// Content-addressed storage with Kubo-identical CIDs.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The store directory (created if missing) [default: `<data dir>/store`, or `~/.scal3ml/store` where one
    /// already is].
    #[arg(long, visible_alias = "data-dir", global = true, env = "SCAL3ML_REPO")]
    repo: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// A PEM file of CA certificates to trust besides the system's, for gateways and pinning services behind a
    /// private CA.
    #[arg(long, global = true, env = CA_CERT_ENV, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Import a file (or, with -r, a directory) and print its CID.
    Add(AddArgs),
    /// Print a file's bytes (CID or CID/path), verifying every block.
    Cat(ReadArgs),
    /// Write a file or directory tree to disk, verifying every block.
    Get {
        #[command(flatten)]
        read: ReadArgs,
        /// Where to write (default: the last path component or the CID). It must not exist yet.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Also write the content's symlinks, each only if it stays inside the output folder (relative, with
        /// `..` only at its start). Without it, content holding a symlink is refused.
        #[arg(long)]
        symlinks: bool,
    },
    /// List a directory.
    Ls {
        /// CID or CID/path of a directory.
        path: String,
    },
    /// Write the DAGs under one or more roots as a CAR v1 file.
    ExportCar {
        /// Root CIDs.
        #[arg(required = true)]
        roots: Vec<String>,
        /// Output file ("-" for stdout).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Import every block of a CAR v1 file (each verified) and pin its roots.
    ImportCar {
        /// The CAR file.
        file: PathBuf,
        /// Do not pin the roots.
        #[arg(long)]
        no_pin: bool,
    },
    /// Pin a CID (recursive by default), or list pins when no CID is given.
    Pin {
        /// The CID to pin.
        cid: Option<String>,
        /// Pin only this block, not what it links to.
        #[arg(long)]
        direct: bool,
    },
    /// Remove a pin.
    Unpin {
        /// The pinned CID.
        cid: String,
    },
    /// Delete every block that no pin reaches.
    Gc,
    /// Store totals, or what a CID is and how big.
    Stat {
        /// A CID or CID/path.
        path: Option<String>,
    },
    /// Fetch a whole DAG from a trustless gateway (http:// or https://), verifying every block, and pin it.
    Fetch {
        /// The root CID.
        cid: String,
        /// The gateway's base URL (the part before /ipfs/), e.g. https://trustless-gateway.link.
        #[arg(long, env = "SCAL3ML_GATEWAY")]
        gateway: String,
        /// Do not pin the root.
        #[arg(long)]
        no_pin: bool,
    },
    /// Ask an IPFS Pinning Service (API v0.1.1) to pin a CID, and wait until it is pinned.
    RemotePin {
        /// The CID to pin.
        cid: String,
        /// The service's endpoint (the URL /pins is appended to).
        #[arg(long, env = "SCAL3ML_PINNING_SERVICE")]
        service: String,
        /// The service's access token (sent as a bearer token).
        #[arg(long, env = "SCAL3ML_PINNING_TOKEN", hide_env_values = true)]
        token: String,
        /// A name for the pin.
        #[arg(long)]
        name: Option<String>,
        /// Multiaddrs of nodes that hold the data (e.g. our own gateway), as hints for the service.
        #[arg(long)]
        origin: Vec<String>,
        /// Seconds to wait for the pin to complete (0: do not wait).
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
}

#[derive(Debug, Args)]
struct AddArgs {
    /// The file or directory.
    path: PathBuf,
    /// Add a directory recursively.
    #[arg(short, long)]
    recursive: bool,
    /// CID version: 0 (Kubo's default) or 1 (raw leaves).
    #[arg(long)]
    cid_version: Option<u8>,
    /// Raw leaves (default: on for CIDv1, off for CIDv0).
    #[arg(long)]
    raw_leaves: Option<bool>,
    /// Import profile: kubo-v0, kubo-v1 or unixfs-v1-2025.
    #[arg(long)]
    profile: Option<String>,
    /// Chunker, as Kubo writes it: size-<bytes>.
    #[arg(long)]
    chunker: Option<String>,
    /// Encrypt first with a fresh random key (printed with the result; keep it secret).
    #[arg(long)]
    encrypt: bool,
    /// Wrap the result in a directory named after the file.
    #[arg(short = 'w', long)]
    wrap_with_directory: bool,
    /// Only compute the CID; store nothing.
    #[arg(short = 'n', long)]
    only_hash: bool,
    /// Print only the root CID.
    #[arg(short = 'Q', long)]
    quiet: bool,
    /// Include files whose names start with '.'.
    #[arg(short = 'H', long)]
    hidden: bool,
    /// Do not pin the result.
    #[arg(long)]
    no_pin: bool,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Debug, Args)]
struct ReadArgs {
    /// CID or CID/path (also /ipfs/CID/path).
    path: String,
    /// The file key (hex) of an encrypted file: decrypt while reading.
    #[arg(long)]
    key: Option<String>,
    /// First byte to read.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Bytes to read (default: to the end).
    #[arg(long)]
    length: Option<u64>,
    /// No progress bar (there is none anyway when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// The store under the one data directory (`<data dir>/store`), except that a store already at the old
/// default, `~/.scal3ml/store`, is kept where it is (nothing a user stored moves).
fn default_repo() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("HOME") {
        let old = PathBuf::from(home).join(".scal3ml").join("store");
        if old.is_dir() {
            return Ok(old);
        }
    }
    Ok(scal3ml_accounts::default_data_dir()?.join("store"))
}

fn bar(total: Option<u64>, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar} {eta}",
        )
        .expect("valid template"),
    );
    bar
}

/// A store wrapper that advances a progress bar by the bytes written; with `inner: None` it stores nothing.
struct Counting<'a> {
    inner: Option<&'a FsStore>,
    bar: ProgressBar,
}

impl BlockStore for Counting<'_> {
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>> {
        Box::pin(async move {
            match self.inner {
                Some(s) => s.get(cid).await,
                None => Err(scal3ml_store::StoreError::NotFound { cid: *cid }),
            }
        })
    }
    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            self.bar.inc(block.data().len() as u64);
            match self.inner {
                Some(s) => s.put(block).await,
                None => Ok(()),
            }
        })
    }
    fn put_many(&self, blocks: Vec<Block>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            self.bar
                .inc(blocks.iter().map(|b| b.data().len() as u64).sum());
            match self.inner {
                Some(s) => s.put_many(blocks).await,
                None => Ok(()),
            }
        })
    }
    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            match self.inner {
                Some(s) => s.has(cid).await,
                None => Ok(false),
            }
        })
    }
    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            match self.inner {
                Some(s) => s.delete(cid).await,
                None => Ok(()),
            }
        })
    }
}

fn total_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path).map_or(0, |rd| rd.flatten().map(|e| total_size(&e.path())).sum())
    } else {
        meta.len()
    }
}

fn options(args: &AddArgs) -> anyhow::Result<ImportOptions> {
    let mut opts = match &args.profile {
        Some(p) => ImportOptions::profile(p)?,
        None => ImportOptions::default(),
    };
    if let Some(v) = args.cid_version {
        opts = opts.with_cid_version(v);
    }
    if let Some(raw) = args.raw_leaves {
        opts = opts.with_raw_leaves(raw);
    }
    if let Some(spec) = &args.chunker {
        opts = opts.with_chunker(spec)?;
    }
    Ok(opts.with_hidden(args.hidden))
}

/// The HTTP(S) client for gateways and pinning services: the system's CAs plus `--ca-cert` / `SCAL3ML_CA_CERT`.
fn http_client(ca_cert: Option<&Path>) -> anyhow::Result<HttpClient> {
    let mut config = HttpConfig::new();
    if let Some(path) = ca_cert {
        config = config
            .with_ca_cert_file(path)
            .with_context(|| format!("--ca-cert / {CA_CERT_ENV}"))?;
    }
    Ok(config.client()?)
}

/// Runs a `scal3ml store` command.
pub(crate) async fn run(args: StoreArgs) -> anyhow::Result<()> {
    let repo = match args.repo.clone() {
        Some(repo) => repo,
        None => default_repo()?,
    };
    let json = args.json;
    let open =
        || FsStore::open(&repo).with_context(|| format!("opening the store at {}", repo.display()));
    let mut stdout = std::io::stdout();
    match args.command {
        StoreCommand::Add(add) => {
            let opts = options(&add)?;
            let meta = std::fs::metadata(&add.path)
                .with_context(|| format!("reading {}", add.path.display()))?;
            if meta.is_dir() && !add.recursive {
                bail!(
                    "{} is a directory: add -r to import it recursively",
                    add.path.display()
                );
            }
            if add.encrypt && (meta.is_dir() || add.wrap_with_directory) {
                bail!("--encrypt works on a single file, without -r or -w");
            }
            let store = if add.only_hash { None } else { Some(open()?) };
            let bar = bar(Some(total_size(&add.path)), add.no_progress || add.quiet);
            let counting = Counting {
                inner: store.as_ref(),
                bar: bar.clone(),
            };
            let mut key_hex = None;
            let mut digest = None;
            let imported = if add.encrypt {
                let key = FileKey::generate()?;
                let file = File::open(&add.path)
                    .with_context(|| format!("opening {}", add.path.display()))?;
                let (reader, cell) = EncryptReader::new(file, &key)?;
                let imported = add_reader(&counting, reader, opts).await?;
                key_hex = Some(key.to_hex());
                digest = cell.get().copied();
                imported
            } else {
                add_path(&counting, add.path.clone(), opts, add.wrap_with_directory).await?
            };
            bar.finish_and_clear();
            if let (Some(store), false) = (&store, add.no_pin) {
                store.pin(&imported.cid, PinMode::Recursive).await?;
            }
            let name = add
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if json {
                let mut out = json!({ "cid": imported.cid, "name": name, "size": imported.size, "tsize": imported.tsize,
                    "blocks": imported.blocks, "stored": store.is_some() });
                if let (Some(k), Some(d)) = (&key_hex, digest) {
                    out["key"] = json!(k);
                    out["plaintext_sha256"] = json!(alloy::hex::encode(d.sha256));
                    out["plaintext_size"] = json!(d.length);
                }
                writeln!(stdout, "{out}")?;
            } else if add.quiet {
                writeln!(stdout, "{}", imported.cid)?;
            } else {
                writeln!(stdout, "added {} {name}", imported.cid)?;
                if let (Some(k), Some(d)) = (&key_hex, digest) {
                    writeln!(stdout, "key {k}")?;
                    writeln!(stdout, "plaintext-sha256 {}", alloy::hex::encode(d.sha256))?;
                }
            }
        }
        StoreCommand::Cat(read) => {
            let store = open()?;
            let cid = export::resolve_str(&store, &read.path).await?;
            let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout());
            read_into(&store, &cid, &read, &mut out).await?;
            out.flush()?;
        }
        StoreCommand::Get {
            read,
            output,
            symlinks,
        } => {
            let store = open()?;
            let cid = export::resolve_str(&store, &read.path).await?;
            let dest = output.unwrap_or_else(|| {
                PathBuf::from(
                    read.path
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or("out"),
                )
            });
            if dest.symlink_metadata().is_ok() {
                bail!("{} already exists: choose another --output", dest.display());
            }
            let info = export::stat(&store, &cid).await?;
            let written = async {
                if info.kind == Kind::File {
                    // A small DAG can declare (and link) a petabyte: refuse what cannot fit before writing.
                    let end = read
                        .length
                        .map_or(info.size, |l| read.offset.saturating_add(l));
                    let folder = dest.parent().filter(|p| !p.as_os_str().is_empty());
                    export::ensure_space(
                        folder.unwrap_or(Path::new(".")),
                        end.min(info.size).saturating_sub(read.offset),
                        1,
                        &dest.display().to_string(),
                    )?;
                    // New, and never through a symlink someone planted at `dest`.
                    let file =
                        export::nofollow(std::fs::OpenOptions::new().write(true).create_new(true))
                            .open(&dest)
                            .with_context(|| format!("creating {}", dest.display()))?;
                    let mut out = BufWriter::with_capacity(1 << 20, file);
                    read_into(&store, &cid, &read, &mut out).await?;
                    out.flush()?;
                } else {
                    let opts = export::GetOptions::default().with_symlinks(symlinks);
                    export::get_to_path(&store, &cid, &dest, &opts).await?;
                }
                anyhow::Ok(())
            }
            .await;
            if let Err(e) = written {
                // Nothing half written is left behind: `dest` did not exist before, so all of it is ours.
                let _ = std::fs::remove_file(&dest).or_else(|_| std::fs::remove_dir_all(&dest));
                return Err(e.context(format!(
                    "nothing was written to {}; fix the cause and run the command again",
                    dest.display()
                )));
            }
            if json {
                writeln!(stdout, "{}", json!({ "cid": cid, "path": dest }))?;
            } else {
                writeln!(stdout, "saved {cid} to {}", dest.display())?;
            }
        }
        StoreCommand::Ls { path } => {
            let store = open()?;
            let cid = export::resolve_str(&store, &path).await?;
            let entries = export::ls(&store, &cid).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&entries)?)?;
            } else {
                for e in entries {
                    writeln!(stdout, "{} {} {}", e.cid, e.tsize, e.name)?;
                }
            }
        }
        StoreCommand::ExportCar { roots, output } => {
            let store = open()?;
            let mut cids = Vec::new();
            for r in &roots {
                cids.push(export::resolve_str(&store, r).await?);
            }
            let count = if output.as_os_str() == "-" {
                car::export_car(
                    &store,
                    &cids,
                    BufWriter::with_capacity(1 << 20, std::io::stdout()),
                )
                .await?
            } else {
                let file = File::create(&output)
                    .with_context(|| format!("creating {}", output.display()))?;
                let n =
                    car::export_car(&store, &cids, BufWriter::with_capacity(1 << 20, file)).await?;
                if json {
                    writeln!(
                        stdout,
                        "{}",
                        json!({ "roots": cids, "blocks": n, "path": output })
                    )?;
                } else {
                    writeln!(stdout, "exported {n} blocks to {}", output.display())?;
                }
                n
            };
            tracing::debug!(count, "CAR exported");
        }
        StoreCommand::ImportCar { file, no_pin } => {
            let store = open()?;
            let input = File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let (roots, count) =
                car::import_car(&store, BufReader::with_capacity(1 << 20, input)).await?;
            if !no_pin {
                for root in &roots {
                    store.pin(root, PinMode::Recursive).await.with_context(|| {
                        format!("pinning root {root}: the CAR does not hold its whole DAG (use --no-pin to keep the blocks anyway)")
                    })?;
                }
            }
            if json {
                writeln!(stdout, "{}", json!({ "roots": roots, "blocks": count }))?;
            } else {
                for root in &roots {
                    writeln!(stdout, "root {root}")?;
                }
                writeln!(stdout, "imported {count} blocks")?;
            }
        }
        StoreCommand::Pin { cid: None, .. } => {
            let store = open()?;
            let pins = store.pins().await?;
            if json {
                let list: Vec<_> = pins
                    .iter()
                    .map(|(c, m)| json!({ "cid": c, "mode": m }))
                    .collect();
                writeln!(stdout, "{}", serde_json::Value::Array(list))?;
            } else {
                for (c, m) in pins {
                    writeln!(stdout, "{c} {m}")?;
                }
            }
        }
        StoreCommand::Pin {
            cid: Some(cid),
            direct,
        } => {
            let store = open()?;
            let cid: Cid = cid.parse()?;
            let mode = if direct {
                PinMode::Direct
            } else {
                PinMode::Recursive
            };
            store.pin(&cid, mode).await?;
            if json {
                writeln!(stdout, "{}", json!({ "cid": cid, "mode": mode }))?;
            } else {
                writeln!(stdout, "pinned {cid} {mode}")?;
            }
        }
        StoreCommand::Unpin { cid } => {
            let store = open()?;
            let cid: Cid = cid.parse()?;
            store.unpin(&cid).await?;
            if json {
                writeln!(stdout, "{}", json!({ "cid": cid, "unpinned": true }))?;
            } else {
                writeln!(stdout, "unpinned {cid}")?;
            }
        }
        StoreCommand::Fetch {
            cid,
            gateway,
            no_pin,
        } => {
            let store = open()?;
            let root: Cid = cid.parse()?;
            let client =
                GatewayClient::new(&gateway).with_http(&http_client(args.ca_cert.as_deref())?);
            let bar = bar(None, json);
            let counting = Counting {
                inner: Some(&store),
                bar: bar.clone(),
            };
            let stats = client.fetch_dag(&root, &counting).await?;
            bar.finish_and_clear();
            if !no_pin {
                store.pin(&root, PinMode::Recursive).await?;
            }
            if json {
                let out = json!({ "cid": root, "gateway": client.base(), "blocks": stats.blocks,
                    "bytes": stats.bytes, "pinned": !no_pin });
                writeln!(stdout, "{out}")?;
            } else {
                writeln!(
                    stdout,
                    "fetched {root} from {}: {} blocks, {} bytes, every block verified",
                    client.base(),
                    stats.blocks,
                    stats.bytes
                )?;
            }
        }
        StoreCommand::RemotePin {
            cid,
            service,
            token,
            name,
            origin,
            wait,
        } => {
            let cid: Cid = cid.parse()?;
            let client = PinningClient::new(&service, token)
                .with_http(&http_client(args.ca_cert.as_deref())?);
            let mut pin = Pin::new(cid.to_string());
            if let Some(name) = name {
                pin = pin.with_name(name);
            }
            if !origin.is_empty() {
                pin.origins = Some(origin);
            }
            let mut status = client.add(&pin).await?;
            if wait > 0 {
                status = client
                    .wait_pinned(&status.requestid, std::time::Duration::from_secs(wait))
                    .await?;
            }
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&status)?)?;
            } else {
                writeln!(
                    stdout,
                    "{} {cid} at {} (request {})",
                    status.status,
                    client.endpoint(),
                    status.requestid
                )?;
            }
        }
        StoreCommand::Gc => {
            let store = open()?;
            let report = store.gc().await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&report)?)?;
            } else {
                writeln!(
                    stdout,
                    "removed {} blocks ({} bytes)",
                    report.removed_blocks, report.removed_bytes
                )?;
            }
        }
        StoreCommand::Stat { path: None } => {
            let store = open()?;
            let stats = store.stat().await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&stats)?)?;
            } else {
                writeln!(stdout, "blocks {}", stats.blocks)?;
                writeln!(stdout, "bytes {}", stats.bytes)?;
                writeln!(stdout, "recursive-pins {}", stats.recursive_pins)?;
                writeln!(stdout, "direct-pins {}", stats.direct_pins)?;
                writeln!(stdout, "repo {}", repo.display())?;
            }
        }
        StoreCommand::Stat { path: Some(path) } => {
            let store = open()?;
            let cid = export::resolve_str(&store, &path).await?;
            let info = export::stat(&store, &cid).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string(&info)?)?;
            } else {
                let kind = serde_json::to_value(&info.kind)?;
                writeln!(
                    stdout,
                    "{} {} {}",
                    info.cid,
                    kind.as_str().unwrap_or("?"),
                    info.size
                )?;
            }
        }
    }
    Ok(())
}

/// Streams a file (decrypting with --key) within --offset/--length into `out`.
async fn read_into(
    store: &FsStore,
    cid: &Cid,
    read: &ReadArgs,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let end = read.length.map(|l| read.offset.saturating_add(l));
    let size = export::stat(store, cid).await?.size;
    let expected = end.unwrap_or(size).min(size).saturating_sub(read.offset);
    // Ciphertext is a little longer than the plaintext written; the bar counts what is written.
    let progress = bar(Some(expected), read.no_progress);
    let mut sink = |b: Bytes| {
        progress.inc(b.len() as u64);
        out.write_all(&b)
            .map_err(|e| scal3ml_store::StoreError::io("writing output", e))
    };
    match &read.key {
        Some(hex) => {
            let key = FileKey::from_hex(hex)?;
            crypt::read_decrypted(store, cid, &key, read.offset, end, &mut sink).await?;
        }
        None => {
            export::read_range(store, cid, read.offset, end, &mut sink).await?;
        }
    }
    progress.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use scal3ml_store::{BlockStore, Cid, FsStore, PinStore};

    async fn run(repo: &std::path::Path, args: &[&str]) -> anyhow::Result<()> {
        let mut argv = vec!["scal3ml", "store", "--repo", repo.to_str().unwrap()];
        argv.extend_from_slice(args);
        let cli = crate::Cli::try_parse_from(argv)?;
        let crate::Command::Store(args) = cli.command else {
            unreachable!("parsed a store command")
        };
        super::run(args).await
    }

    #[tokio::test]
    async fn add_export_gc_import_round_trip() {
        let repo = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("hey"), b"Hey\n").unwrap();
        std::fs::create_dir(src.path().join("hello")).unwrap();
        std::fs::write(src.path().join("hello/world"), b"World\n").unwrap();
        let root: Cid = "QmZQWnfcqJ6hNkkPvrY9Q5X39GP3jUnUbAV4AbmbbR3Cb1"
            .parse()
            .unwrap();

        // a directory without -r is refused with a hint
        let err = run(repo.path(), &["add", src.path().to_str().unwrap()])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("-r"), "{err}");

        run(
            repo.path(),
            &["add", "-r", "-Q", src.path().to_str().unwrap()],
        )
        .await
        .unwrap();
        let car = repo.path().join("out.car");
        run(
            repo.path(),
            &["export-car", &root.to_string(), "-o", car.to_str().unwrap()],
        )
        .await
        .unwrap();
        run(repo.path(), &["unpin", &root.to_string()])
            .await
            .unwrap();
        run(repo.path(), &["gc"]).await.unwrap();
        {
            let store = FsStore::open(repo.path()).unwrap();
            assert!(
                !store.has(&root).await.unwrap(),
                "gc removed the unpinned DAG"
            );
        }
        run(repo.path(), &["import-car", car.to_str().unwrap()])
            .await
            .unwrap();
        {
            let store = FsStore::open(repo.path()).unwrap();
            assert!(store.has(&root).await.unwrap());
            assert_eq!(
                store.pins().await.unwrap().len(),
                1,
                "import-car pins its root"
            );
        }

        let out = src.path().join("copy");
        let target = format!("{root}/hello");
        run(repo.path(), &["get", &target, "-o", out.to_str().unwrap()])
            .await
            .unwrap();
        assert_eq!(std::fs::read(out.join("world")).unwrap(), b"World\n");
    }

    #[tokio::test]
    async fn only_hash_stores_nothing_and_encrypt_round_trips() {
        let repo = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = src.path().join("weights.bin");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&file, &data).unwrap();
        run(
            repo.path(),
            &[
                "add",
                "-n",
                "-Q",
                "--cid-version",
                "1",
                file.to_str().unwrap(),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            FsStore::open(repo.path())
                .unwrap()
                .stat()
                .await
                .unwrap()
                .blocks,
            0
        );

        run(
            repo.path(),
            &["add", "--encrypt", "--no-progress", file.to_str().unwrap()],
        )
        .await
        .unwrap();
        let store = FsStore::open(repo.path()).unwrap();
        let (root, _) = store.pins().await.unwrap()[0];
        // the stored bytes are ciphertext, not the plaintext
        let stored = scal3ml_store::export::cat_to_vec(&store, &root, u64::MAX)
            .await
            .unwrap();
        assert_eq!(&stored[..8], b"SC3MLEv1");
        assert!(stored.windows(64).all(|w| w != &data[1000..1064]));
    }

    #[tokio::test]
    async fn a_failed_get_leaves_nothing_behind_and_re_adding_repairs() {
        let repo = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let file = src.path().join("data.bin");
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).unwrap();
        let add = [
            "add",
            "--no-progress",
            "--cid-version",
            "1",
            file.to_str().unwrap(),
        ];
        run(repo.path(), &add).await.unwrap();
        let (root, leaf) = {
            let store = FsStore::open(repo.path()).unwrap();
            let (root, _) = store.pins().await.unwrap()[0];
            let (leaf, _) = *store
                .list()
                .await
                .unwrap()
                .iter()
                .find(|(c, _)| *c != root)
                .unwrap();
            (root, leaf)
        };
        // A leaf rots on disk.
        let name = leaf.to_v1().to_string();
        let path = repo
            .path()
            .join("blocks")
            .join(&name[name.len() - 3..name.len() - 1])
            .join(format!("{name}.data"));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 1;
        std::fs::write(&path, bytes).unwrap();

        let out = src.path().join("copy.bin");
        let err = run(
            repo.path(),
            &["get", &root.to_string(), "-o", out.to_str().unwrap()],
        )
        .await
        .unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains("corrupt") && message.contains("nothing was written"),
            "{message}"
        );
        assert!(!out.exists(), "no partial file is left to block a retry");

        // Adding the file again replaces the bad copy; the retry then succeeds.
        run(repo.path(), &add).await.unwrap();
        run(
            repo.path(),
            &["get", &root.to_string(), "-o", out.to_str().unwrap()],
        )
        .await
        .unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), data);
    }

    /// A file of a few hundred KiB in an in-memory store, as a remote node would hold it.
    async fn remote_file() -> (std::sync::Arc<scal3ml_store::MemStore>, Cid, Vec<u8>) {
        let store = std::sync::Arc::new(scal3ml_store::MemStore::new());
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let root = scal3ml_store::add_reader(
            &*store,
            std::io::Cursor::new(data.clone()),
            scal3ml_store::ImportOptions::kubo_v1(),
        )
        .await
        .unwrap()
        .cid;
        (store, root, data)
    }

    #[tokio::test]
    async fn fetch_over_https_needs_the_private_ca_and_then_verifies_and_pins() {
        use scal3ml_store::http::test_utils::{TestCa, serve_tls};
        let (remote, root, data) = remote_file().await;
        let ca = TestCa::new();
        let port = serve_tls(
            scal3ml_store::gateway::router(remote),
            ca.leaf(&["localhost", "127.0.0.1"]),
        )
        .await;
        let url = format!("https://127.0.0.1:{port}");
        let repo = tempfile::tempdir().unwrap();
        let root_text = root.to_string();

        let err = run(repo.path(), &["fetch", &root_text, "--gateway", &url])
            .await
            .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("not trusted") && err.contains("SCAL3ML_CA_CERT"),
            "{err}"
        );

        let ca_file = repo.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let ca_arg = ca_file.to_str().unwrap();
        run(
            repo.path(),
            &["--ca-cert", ca_arg, "fetch", &root_text, "--gateway", &url],
        )
        .await
        .unwrap();
        let store = FsStore::open(repo.path()).unwrap();
        assert_eq!(
            scal3ml_store::export::cat_to_vec(&store, &root, u64::MAX)
                .await
                .unwrap(),
            data
        );
        assert!(
            store
                .pins()
                .await
                .unwrap()
                .contains(&(root, scal3ml_store::PinMode::Recursive))
        );
    }

    #[tokio::test]
    async fn remote_pin_over_https_with_the_private_ca() {
        use scal3ml_store::http::test_utils::{TestCa, serve_tls};
        use scal3ml_store::pinning::{PinningConfig, PinningService};
        let (remote, root, _) = remote_file().await;
        let service = PinningService::new(
            remote.clone(),
            PinningConfig::new("tok", "/dns4/pins.test/tcp/443/https"),
        )
        .unwrap();
        let ca = TestCa::new();
        let port = serve_tls(service.router(), ca.leaf(&["127.0.0.1"])).await;
        let repo = tempfile::tempdir().unwrap();
        let ca_file = repo.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let url = format!("https://127.0.0.1:{port}");
        let root_text = root.to_string();
        let args = [
            "remote-pin",
            &root_text,
            "--service",
            &url,
            "--token",
            "tok",
            "--name",
            "weights",
            "--ca-cert",
            ca_file.to_str().unwrap(),
        ];
        run(repo.path(), &args).await.unwrap();
        assert!(
            remote
                .pins()
                .await
                .unwrap()
                .contains(&(root, scal3ml_store::PinMode::Recursive)),
            "the service pinned it"
        );
    }
}
