//! Directories: plain UnixFS directories (links sorted by name) that switch to HAMT shards above the
//! threshold, recursive import of a path, and wrapping.

use std::fs::File;
use std::path::Path;

use bytes::Bytes;

use super::{ImportOptions, Sink, hamt};
use crate::block::Block;
use crate::cid::{Cid, Codec, sha256};
use crate::dagpb::{PbLink, PbNode};
use crate::error::{StoreError, StoreResult};
use crate::unixfs::{DataType, UnixFs};

/// A named entry of a directory being built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name.
    pub name: String,
    /// Its root CID.
    pub cid: Cid,
    /// Its cumulative DAG size.
    pub tsize: u64,
    /// Its content bytes (files; sum of files for directories).
    pub size: u64,
}

/// Encodes a dag-pb node, hashes it under the importer's CID version and hands it to the sink; returns its CID
/// and block length.
pub(crate) fn emit_node(
    node: &PbNode,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> StoreResult<(Cid, u64)> {
    let bytes = Bytes::from(node.encode());
    crate::block::check_size(bytes.len())?;
    let digest = sha256(&bytes);
    let cid = if opts.cid_version == 0 {
        Cid::v0(digest)
    } else {
        Cid::v1(Codec::DagPb, digest)
    };
    let len = bytes.len() as u64;
    sink(Block::trusted(cid, bytes))?;
    Ok((cid, len))
}

/// Builds a directory from its entries: a plain UnixFS directory, or a HAMT when the estimated size (name
/// length plus CID byte length, summed over links) exceeds `opts.hamt_threshold`.
pub fn build_directory(
    mut entries: Vec<DirEntry>,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> StoreResult<DirEntry> {
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    if let Some(pair) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(StoreError::invalid(format!(
            "two directory entries named {:?}",
            pair[0].name
        )));
    }
    let estimate: usize = entries
        .iter()
        .map(|e| e.name.len() + e.cid.encoded_len())
        .sum();
    let size = entries.iter().map(|e| e.size).sum();
    if estimate > opts.hamt_threshold {
        let (cid, tsize) = hamt::build(&entries, opts, sink)?;
        return Ok(DirEntry {
            name: String::new(),
            cid,
            tsize,
            size,
        });
    }
    let node = PbNode {
        links: entries
            .iter()
            .map(|e| PbLink {
                cid: e.cid,
                name: e.name.clone(),
                tsize: e.tsize,
            })
            .collect(),
        data: Some(Bytes::from(UnixFs::new(DataType::Directory).encode())),
    };
    let (cid, len) = emit_node(&node, opts, sink)?;
    let tsize = len + entries.iter().map(|e| e.tsize).sum::<u64>();
    Ok(DirEntry {
        name: String::new(),
        cid,
        tsize,
        size,
    })
}

/// Wraps one entry in a directory (Kubo's `-w`).
pub fn wrap(entry: DirEntry, opts: &ImportOptions, sink: &mut Sink<'_>) -> StoreResult<DirEntry> {
    build_directory(vec![entry], opts, sink)
}

/// Imports a file, symlink or directory tree; the entry is named after the path's last component.
pub fn import_path(
    path: &Path,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> StoreResult<DirEntry> {
    let ctx = |what: &str| format!("{what} {}", path.display());
    let meta = std::fs::symlink_metadata(path).map_err(|e| StoreError::io(ctx("reading"), e))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if meta.file_type().is_symlink() {
        let target =
            std::fs::read_link(path).map_err(|e| StoreError::io(ctx("reading link"), e))?;
        let target = target.to_str().ok_or_else(|| {
            StoreError::invalid(format!("symlink {} has a non-UTF-8 target", path.display()))
        })?;
        let mut msg = UnixFs::new(DataType::Symlink);
        msg.data = Some(Bytes::copy_from_slice(target.as_bytes()));
        let node = PbNode {
            links: vec![],
            data: Some(Bytes::from(msg.encode())),
        };
        let (cid, len) = emit_node(&node, opts, sink)?;
        return Ok(DirEntry {
            name,
            cid,
            tsize: len,
            size: 0,
        });
    }
    if meta.is_dir() {
        let mut entries = Vec::new();
        let listing = std::fs::read_dir(path).map_err(|e| StoreError::io(ctx("listing"), e))?;
        let mut children: Vec<_> = listing
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::io(ctx("listing"), e))?
            .into_iter()
            .map(|e| e.path())
            .collect();
        children.sort();
        for child in children {
            let child_name = child.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                StoreError::invalid(format!(
                    "{} has a non-UTF-8 name; rename it to import",
                    child.display()
                ))
            })?;
            if child_name.starts_with('.') && !opts.hidden {
                continue;
            }
            entries.push(import_path(&child, opts, sink)?);
        }
        let dir = build_directory(entries, opts, sink)?;
        return Ok(DirEntry { name, ..dir });
    }
    let file = File::open(path).map_err(|e| StoreError::io(ctx("opening"), e))?;
    // Chunks are read whole straight from the file: no buffer in between, one copy less.
    let root = super::import_file(file, opts, sink)?;
    Ok(DirEntry {
        name,
        cid: root.cid,
        tsize: root.tsize,
        size: root.size,
    })
}
