//! Asset content: [`prepare`] a file or a folder for publishing (each file imported into a block store,
//! encrypted under the asset key when there is one, folders as UnixFS directories), and [`download`] it back
//! verified and resumable.
//!
//! Layout: a single-file asset's root is the file itself; a folder's root is a UnixFS directory (nested
//! folders nest) built with the store's directory builder, so without a key the root CID is the one
//! `ipfs add -r --cid-version 1 --hidden` prints for the same folder. With a key every file is encrypted
//! (age STREAM, its own random nonce, see `scal3ml_store::crypt`) before it is chunked; names and sizes in
//! the directory stay visible.
//!
//! Resuming: [`download`] writes each file to `<name>.part` and renames it when its SHA-256 matches the card.
//! Run again after an interruption and it skips every file already in place with the card's size and
//! SHA-256, and continues a `.part` file from its length (the bytes already there are hashed, not fetched
//! again). If the finished file's hash is wrong (say the `.part` was damaged), the `.part` is deleted and the
//! error says so; the next run starts that file over.

use std::collections::{HashMap, hash_map::Entry};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use scal3ml_store::{
    Block, BlockStore, Cid, ImportOptions, StoreError, StoreResult,
    crypt::{self, EncryptReader, FileKey},
    export,
    import::{DirEntry, FileRoot, build_directory, import_file},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{MarketError, MarketResult};

/// One file of an asset, as the card lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the asset, `/`-separated (the file name for a single-file asset).
    pub path: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// Root CID of the file as stored (of the ciphertext when encrypted).
    pub cid: Cid,
}

/// A prepared asset: its root CID and its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    /// The content CID to publish.
    pub root: Cid,
    /// Whether the root is a single file (else a directory).
    pub single_file: bool,
    /// Every file, in path order.
    pub files: Vec<FileEntry>,
}

/// The import settings assets use: CIDv1 with raw leaves, 256 KiB chunks (Kubo's `--cid-version 1`).
pub fn import_options() -> ImportOptions {
    ImportOptions::kubo_v1().with_hidden(true)
}

/// Imports the file or folder at `path` into `store`, encrypting every file under `key` when given.
///
/// Refuses, with an error naming the path: a path that does not exist, a folder with no files in it at all,
/// a symbolic link, a device, FIFO or socket, and names that are not UTF-8.
pub async fn prepare<S: BlockStore + ?Sized>(
    store: &S,
    path: &Path,
    key: Option<&FileKey>,
) -> MarketResult<Prepared> {
    let path = path.to_path_buf();
    let key = key.cloned();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Block>(16);
    let worker = tokio::task::spawn_blocking(move || {
        let mut sink = |block: Block| {
            tx.blocking_send(block)
                .map_err(|_| StoreError::invalid("preparing stopped: the block writer failed"))
        };
        prepare_sync(&path, key.as_ref(), &import_options(), &mut sink)
    });
    let mut write_error = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 64 {
            match rx.try_recv() {
                Ok(block) => batch.push(block),
                Err(_) => break,
            }
        }
        if let Err(e) = store.put_many(batch).await {
            write_error = Some(e);
            break;
        }
    }
    drop(rx);
    let result = worker
        .await
        .map_err(|e| MarketError::Invalid(format!("the import thread failed: {e}")))?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    result
}

type Sink<'a> = dyn FnMut(Block) -> StoreResult<()> + Send + 'a;

fn path_err(path: &Path, reason: impl Into<String>) -> MarketError {
    MarketError::Path {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io_err<'a>(
    context: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> MarketError + 'a {
    move |source| MarketError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

fn special(path: &Path, meta: &fs::Metadata) -> Option<MarketError> {
    let t = meta.file_type();
    if t.is_symlink() {
        return Some(path_err(
            path,
            "is a symbolic link; copy the file it points to in its place, or remove it, and run again",
        ));
    }
    if !t.is_file() && !t.is_dir() {
        return Some(path_err(
            path,
            "is a special file (device, FIFO or socket), not a regular file; remove it from the folder",
        ));
    }
    None
}

fn prepare_sync(
    path: &Path,
    key: Option<&FileKey>,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> MarketResult<Prepared> {
    let meta = fs::symlink_metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            path_err(path, "does not exist; check the path")
        } else {
            MarketError::Io {
                context: "reading",
                path: path.to_path_buf(),
                source: e,
            }
        }
    })?;
    if let Some(e) = special(path, &meta) {
        return Err(e);
    }
    let mut files = Vec::new();
    if meta.is_file() {
        let name = utf8_name(path)?;
        let (root, size, sha256) = import_one(path, key, opts, sink)?;
        files.push(FileEntry {
            path: name,
            size,
            sha256,
            cid: root.cid,
        });
        return Ok(Prepared {
            root: root.cid,
            single_file: true,
            files,
        });
    }
    let root = import_dir(path, "", key, opts, sink, &mut files)?;
    if files.is_empty() {
        return Err(path_err(
            path,
            "is a folder with no files in it; an asset needs at least one file",
        ));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Prepared {
        root: root.cid,
        single_file: false,
        files,
    })
}

fn utf8_name(path: &Path) -> MarketResult<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| path_err(path, "has a name that is not UTF-8; rename it"))
}

fn import_dir(
    dir: &Path,
    prefix: &str,
    key: Option<&FileKey>,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
    files: &mut Vec<FileEntry>,
) -> MarketResult<DirEntry> {
    let mut children: Vec<_> = fs::read_dir(dir)
        .map_err(io_err("listing", dir))?
        .collect::<Result<_, _>>()
        .map_err(io_err("listing", dir))?;
    children.sort_by_key(|e| e.file_name());
    let mut entries = Vec::with_capacity(children.len());
    for child in children {
        let path = child.path();
        let name = utf8_name(&path)?;
        let meta = fs::symlink_metadata(&path).map_err(io_err("reading", &path))?;
        if let Some(e) = special(&path, &meta) {
            return Err(e);
        }
        let rel = format!("{prefix}{name}");
        let entry = if meta.is_dir() {
            let sub = import_dir(&path, &format!("{rel}/"), key, opts, sink, files)?;
            DirEntry { name, ..sub }
        } else {
            let (root, size, sha256) = import_one(&path, key, opts, sink)?;
            files.push(FileEntry {
                path: rel,
                size,
                sha256,
                cid: root.cid,
            });
            // The link records the stored DAG's figures (of the ciphertext when encrypted).
            DirEntry {
                name,
                cid: root.cid,
                tsize: root.tsize,
                size: root.size,
            }
        };
        entries.push(entry);
    }
    Ok(build_directory(entries, opts, sink)?)
}

/// Reads the plaintext through a SHA-256 as it goes.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    length: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.length += n as u64;
        Ok(n)
    }
}

/// Imports one file (encrypted under `key` if given); returns its stored root, plaintext size and SHA-256.
fn import_one(
    path: &Path,
    key: Option<&FileKey>,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> MarketResult<(FileRoot, u64, String)> {
    let file = File::open(path).map_err(io_err("opening", path))?;
    let (root, size, sha) = match key {
        Some(key) => {
            let (reader, digest) = EncryptReader::new(file, key)?;
            let root = import_file(reader, opts, sink)?;
            let d = digest.get().copied().ok_or_else(|| {
                path_err(
                    path,
                    "was not read to the end while encrypting; is it being written to?",
                )
            })?;
            (root, d.length, alloy_primitives::hex::encode(d.sha256))
        }
        None => {
            let mut reader = Hashing {
                inner: file,
                hasher: Sha256::new(),
                length: 0,
            };
            let root = import_file(&mut reader, opts, sink)?;
            let length = reader.length;
            (
                root,
                length,
                alloy_primitives::hex::encode(reader.hasher.finalize()),
            )
        }
    };
    Ok((root, size, sha))
}

/// Where [`download`] is: called as bytes are written.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The file being written (its path in the card).
    pub path: &'a str,
    /// Bytes of this file in place so far.
    pub file_done: u64,
    /// This file's size.
    pub file_size: u64,
    /// Bytes of all files in place so far (skipped files count).
    pub total_done: u64,
    /// Size of all files.
    pub total_size: u64,
}

/// What [`download`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Downloaded {
    /// Files written in this run (paths from the card).
    pub written: Vec<String>,
    /// Files already complete and left alone.
    pub skipped: Vec<String>,
    /// Bytes fetched and written in this run (including resumed tails).
    pub bytes_written: u64,
}

/// Checks a card path: relative, `/`-separated, no empty, `.` or `..` parts.
fn safe_relative(path: &str) -> MarketResult<PathBuf> {
    let bad = |why: &str| {
        MarketError::Invalid(format!(
            "the card lists a file at {path:?}, which {why}; the card is malformed, tell the publisher"
        ))
    };
    if path.is_empty() || path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(bad("is not a relative path"));
    }
    let mut out = PathBuf::new();
    for part in path.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(bad("has an empty, '.' or '..' part"));
        }
        out.push(part);
    }
    if out.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(bad("is not a plain relative path"));
    }
    Ok(out)
}

/// Makes the folders of `rel` under `dest`, refusing a path that passes through a symlink already there (it
/// could lead anywhere outside `dest`) or through something that is not a folder.
fn folders_inside(dest: &Path, rel: &Path, shown: &str) -> MarketResult<()> {
    let mut at = dest.to_path_buf();
    let Some(folders) = rel.parent() else {
        return Ok(());
    };
    for part in folders.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(path_err(
                    &at,
                    format!(
                        "the card's file {shown} would be written through this symlink, which may lead outside \
                         {}; remove it or download elsewhere",
                        dest.display()
                    ),
                ));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(path_err(
                    &at,
                    format!(
                        "the card's file {shown} needs a folder here, but a file is in the way"
                    ),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir(&at).map_err(io_err("creating", &at))?;
            }
            Err(e) => return Err(io_err("reading", &at)(e)),
        }
    }
    Ok(())
}

fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    target.with_file_name(name)
}

/// SHA-256 and length of a file on disk (on the blocking pool).
async fn hash_file(path: &Path) -> MarketResult<(Sha256, u64)> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = File::open(&path).map_err(io_err("reading", &path))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut len = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io_err("reading", &path))?;
            if n == 0 {
                return Ok((hasher, len));
            }
            hasher.update(&buf[..n]);
            len += n as u64;
        }
    })
    .await
    .map_err(|e| MarketError::Invalid(format!("hashing thread failed: {e}")))?
}

/// Follows `path` from `root` like `export::resolve`, listing each directory once per download (a folder of
/// many files would otherwise fetch its directory blocks again for every file).
async fn resolve_cached(
    source: &dyn BlockStore,
    root: &Cid,
    path: &str,
    listings: &mut HashMap<Cid, Vec<export::LsEntry>>,
) -> MarketResult<Cid> {
    let mut cid = *root;
    for name in path.split('/') {
        let entries = match listings.entry(cid) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(export::ls(source, &cid).await?),
        };
        cid = entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.cid)
            .ok_or_else(|| {
                MarketError::Invalid(format!(
                    "the card lists {path} but the content has no such file; the card does not match the \
                     content, tell the publisher"
                ))
            })?;
    }
    Ok(cid)
}

/// Downloads an asset's files from `source` (any block store: a local store, or a `GatewayClient` that
/// verifies every block) into `dest`, decrypting with `key` when given and checking each file's SHA-256
/// against `files` (the card's list). A single-file asset (one file whose CID is the root) is written as the
/// file `dest`; a folder as the folder `dest` with the card's paths inside. Each file's CID must be what its
/// path resolves to under `root`. Resumable: see the module documentation.
pub async fn download(
    source: &dyn BlockStore,
    root: &Cid,
    key: Option<&FileKey>,
    files: &[FileEntry],
    dest: &Path,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> MarketResult<Downloaded> {
    if files.is_empty() {
        return Err(MarketError::Invalid(
            "the card lists no files, so there is nothing to download".into(),
        ));
    }
    let single = files.len() == 1 && files[0].cid == *root;
    let total_size: u64 = files.iter().map(|f| f.size).sum();
    let mut total_done = 0u64;
    let mut report = Downloaded::default();
    let mut listings = HashMap::new();
    for file in files {
        let target = if single {
            dest.to_path_buf()
        } else {
            let rel = safe_relative(&file.path)?;
            let resolved = resolve_cached(source, root, &file.path, &mut listings).await?;
            if resolved != file.cid {
                return Err(MarketError::Invalid(format!(
                    "the card says {} is {} but the content has {} at that path; the card does not match the \
                     content, tell the publisher",
                    file.path, file.cid, resolved
                )));
            }
            folders_inside(dest, &rel, &file.path)?;
            dest.join(rel)
        };
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
        }
        let expected = file.sha256.to_ascii_lowercase();
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_file() && m.len() == file.size) {
            let (hasher, _) = hash_file(&target).await?;
            if alloy_primitives::hex::encode(hasher.finalize()) == expected {
                total_done += file.size;
                progress(Progress {
                    path: &file.path,
                    file_done: file.size,
                    file_size: file.size,
                    total_done,
                    total_size,
                });
                report.skipped.push(file.path.clone());
                continue;
            }
        }
        let part = part_path(&target);
        let (mut hasher, mut have) = match fs::symlink_metadata(&part) {
            Ok(m) if m.is_file() && m.len() <= file.size => hash_file(&part).await?,
            _ => (Sha256::new(), 0),
        };
        // Never through a symlink planted at the `.part` path: opening it fails instead.
        let mut out = export::nofollow(
            OpenOptions::new()
                .create(true)
                .append(have > 0)
                .write(true)
                .truncate(have == 0),
        )
        .open(&part)
        .map_err(io_err("creating", &part))?;
        let start = have;
        total_done += have;
        let written = {
            let mut sink = |b: Bytes| -> StoreResult<()> {
                out.write_all(&b)
                    .map_err(|e| StoreError::io(format!("writing {}", part.display()), e))?;
                hasher.update(&b);
                have += b.len() as u64;
                total_done += b.len() as u64;
                progress(Progress {
                    path: &file.path,
                    file_done: have,
                    file_size: file.size,
                    total_done,
                    total_size,
                });
                Ok(())
            };
            let fetched = match key {
                Some(key) => {
                    crypt::read_decrypted(source, &file.cid, key, start, None, &mut sink).await
                }
                None => export::read_range(source, &file.cid, start, None, &mut sink).await,
            };
            fetched.map(|_| ())
        };
        written?;
        out.sync_all().map_err(io_err("writing", &part))?;
        drop(out);
        let actual = alloy_primitives::hex::encode(hasher.finalize());
        if have != file.size || actual != expected {
            let _ = fs::remove_file(&part);
            if actual != expected {
                return Err(MarketError::HashMismatch {
                    path: file.path.clone(),
                    expected,
                    actual,
                });
            }
            return Err(MarketError::Invalid(format!(
                "{}: {have} bytes arrived but the card says {}; the card does not match the content",
                file.path, file.size
            )));
        }
        fs::rename(&part, &target).map_err(io_err("renaming", &part))?;
        report.bytes_written += have - start;
        report.written.push(file.path.clone());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_paths_must_stay_inside_the_destination() {
        assert_eq!(safe_relative("a/b.txt").unwrap(), PathBuf::from("a/b.txt"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
        ] {
            assert!(safe_relative(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn part_files_sit_beside_their_target() {
        assert_eq!(
            part_path(Path::new("d/model.bin")),
            PathBuf::from("d/model.bin.part")
        );
    }
}
