//! Diffs two versions of a dataset or model, for people deciding whether to accept or buy a new version:
//! files added, removed and changed in a folder; for tables (CSV, JSON Lines, NPY) the rows added, removed and
//! changed, schema changes and per-column statistics; for models (ONNX, safetensors) the tensors added,
//! removed or changed in name, shape, dtype or values, parameter counts, graph inputs and outputs. Files are
//! read in streaming fashion: memory grows with 32 bytes per row key (plus hash-table slack), never with the
//! files' bytes. Not for fetching, decrypting or paying for assets: callers hand it two local paths.
//!
//! ```no_run
//! use scal3ml_diff::{DiffOptions, diff_dirs};
//! let opts = DiffOptions::default().with_key("id");
//! let diff = diff_dirs("v1/".as_ref(), "v2/".as_ref(), &opts)?;
//! print!("{}", diff.render_text());
//! # Ok::<(), scal3ml_diff::DiffError>(())
//! ```

mod error;
mod input;
mod model;
mod npy;
mod onnx;
mod render;
mod safetensors;
mod stats;
mod table;

pub use error::{DiffError, DiffResult};
pub use input::{Input, Reader, Tree};
pub use model::{
    IoChange, IoInfo, ModelDiff, ModelSummary, OpCountChange, TensorChange, TensorInfo,
    TensorRename,
};
pub use stats::{ColumnStats, ColumnType};
pub use table::{
    ArrayChange, ArrayInfo, CellChange, ChangedRow, ChangedRows, Column, ColumnStatsDiff,
    ExampleRow, RowSet, SchemaDiff, TableDiff, TypeChange,
};

use error::io_err;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::{io::Read, path::Path};

/// How to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// The column whose value identifies a row in CSV and JSON Lines tables (for NPY: a column index such as
    /// `0`). Rows with the same key and other values are *changed*. Without it rows are compared by content:
    /// only added and removed.
    pub key: Option<String>,
    /// Example rows kept per category (added, removed, changed).
    pub max_examples: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            key: None,
            max_examples: 20,
        }
    }
}

impl DiffOptions {
    /// Matches rows by this column.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Keeps up to this many example rows per category.
    pub fn with_max_examples(mut self, n: usize) -> Self {
        self.max_examples = n;
        self
    }
}

/// Two folders (or two files) compared.
#[derive(Debug, Clone, Serialize)]
pub struct TreeDiff {
    /// The old path, as given.
    pub old: String,
    /// The new path, as given.
    pub new: String,
    /// Files only in the new version.
    pub added: u64,
    /// Files only in the old version.
    pub removed: u64,
    /// Files in both whose bytes differ.
    pub changed: u64,
    /// Files in both with the same bytes.
    pub unchanged: u64,
    /// Every file, by relative path (for two single files: the new file's name), sorted.
    pub files: Vec<FileDiff>,
}

impl TreeDiff {
    /// Whether anything differs.
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.removed == 0 && self.changed == 0
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, bytes differ.
    Changed,
    /// In both, same bytes.
    Unchanged,
}

/// One side of a file: its size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSide {
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// One file compared.
#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    /// The relative path (or the file name).
    pub path: String,
    /// Added, removed, changed or unchanged.
    pub status: FileStatus,
    /// `csv`, `jsonl`, `npy`, `onnx`, `safetensors` or `binary` (size and hash only).
    pub format: String,
    /// The old file, if there is one.
    pub old: Option<FileSide>,
    /// The new file, if there is one.
    pub new: Option<FileSide>,
    /// What differs inside, by format (tables and models only).
    pub content: Option<ContentDiff>,
    /// Why the content could not be compared (in a folder, one unreadable file does not stop the others).
    pub error: Option<String>,
}

/// A format's comparison.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContentDiff {
    /// CSV, JSON Lines, NPY.
    Table(Box<TableDiff>),
    /// ONNX, safetensors.
    Model(Box<ModelDiff>),
}

/// The formats compared inside, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Jsonl,
    Npy,
    Onnx,
    Safetensors,
    Binary,
}

impl Format {
    pub(crate) fn of(path: &Path) -> Self {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Self::Csv,
            "jsonl" | "ndjson" => Self::Jsonl,
            "npy" => Self::Npy,
            "onnx" => Self::Onnx,
            "safetensors" => Self::Safetensors,
            _ => Self::Binary,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
            Self::Npy => "npy",
            Self::Onnx => "onnx",
            Self::Safetensors => "safetensors",
            Self::Binary => "binary",
        }
    }
}

/// Compares two local folders by relative path, or two local files as one (whatever their names). Each pair
/// of files with different bytes is compared by its format; a file that cannot be compared gets an `error` and
/// the others go on. Symbolic links are not followed.
pub fn diff_dirs(old: &Path, new: &Path, opts: &DiffOptions) -> DiffResult<TreeDiff> {
    let labels = (old.display().to_string(), new.display().to_string());
    diff_trees(&Tree::local(old)?, &Tree::local(new)?, labels, opts)
}

/// Compares two [`Tree`]s (each a file or a folder, from anywhere: local files, or content read through a
/// block store's bounded reader), shown as `labels` (old, new).
pub fn diff_trees(
    old: &Tree,
    new: &Tree,
    labels: (String, String),
    opts: &DiffOptions,
) -> DiffResult<TreeDiff> {
    Tree::same_kind(old, new, (&labels.0, &labels.1))?;
    let mut files = Vec::new();
    match (old, new) {
        (Tree::File(o), Tree::File(n)) => files.push(diff_files_in(o, n, opts)?),
        (Tree::Folder(old_files), Tree::Folder(new_files)) => {
            let mut paths: Vec<&String> = old_files.keys().chain(new_files.keys()).collect();
            paths.sort();
            paths.dedup();
            for rel in paths {
                let entry = match (old_files.get(rel), new_files.get(rel)) {
                    (Some(o), Some(n)) => {
                        let (os, ns) = (side(o)?, side(n)?);
                        if os == ns {
                            same(rel, Format::of(n.path()), os)
                        } else {
                            pair(rel.clone(), o, n, os, ns, opts)
                        }
                    }
                    (Some(o), None) => {
                        one(rel, Format::of(o.path()), FileStatus::Removed, side(o)?)
                    }
                    (None, Some(n)) => one(rel, Format::of(n.path()), FileStatus::Added, side(n)?),
                    (None, None) => unreachable!("the path came from one of the listings"),
                };
                files.push(entry);
            }
        }
        _ => unreachable!("same_kind refused two kinds"),
    }
    let count = |s: FileStatus| files.iter().filter(|f| f.status == s).count() as u64;
    Ok(TreeDiff {
        old: labels.0,
        new: labels.1,
        added: count(FileStatus::Added),
        removed: count(FileStatus::Removed),
        changed: count(FileStatus::Changed),
        unchanged: count(FileStatus::Unchanged),
        files,
    })
}

/// Compares two local files by the new file's format (by extension; if the two extensions name different
/// formats, size and hash only). Unlike [`diff_dirs`], the content is compared even when the bytes are the same
/// (the statistics are still worth reading), and a file that cannot be compared is an error.
pub fn diff_files(old: &Path, new: &Path, opts: &DiffOptions) -> DiffResult<FileDiff> {
    diff_files_in(&Input::local(old)?, &Input::local(new)?, opts)
}

fn diff_files_in(old: &Input, new: &Input, opts: &DiffOptions) -> DiffResult<FileDiff> {
    let (os, ns) = (side(old)?, side(new)?);
    let format = format_of(old, new);
    let content = content(format, old, new, opts)?;
    let name = new
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| new.path().display().to_string());
    Ok(FileDiff {
        path: name,
        status: if os == ns {
            FileStatus::Unchanged
        } else {
            FileStatus::Changed
        },
        format: format.name().into(),
        old: Some(os),
        new: Some(ns),
        content,
        error: None,
    })
}

/// The new file's format, or binary if the two extensions name different formats.
fn format_of(old: &Input, new: &Input) -> Format {
    if Format::of(old.path()) == Format::of(new.path()) {
        Format::of(new.path())
    } else {
        Format::Binary
    }
}

fn content(
    format: Format,
    old: &Input,
    new: &Input,
    opts: &DiffOptions,
) -> DiffResult<Option<ContentDiff>> {
    Ok(match format {
        Format::Csv | Format::Jsonl | Format::Npy => Some(ContentDiff::Table(Box::new(
            table::diff(format, old, new, opts)?,
        ))),
        Format::Onnx => Some(ContentDiff::Model(Box::new(model::diff(
            onnx::read(old)?,
            onnx::read(new)?,
        )))),
        Format::Safetensors => Some(ContentDiff::Model(Box::new(model::diff(
            safetensors::read(old)?,
            safetensors::read(new)?,
        )))),
        Format::Binary => None,
    })
}

fn pair(
    rel: String,
    old: &Input,
    new: &Input,
    os: FileSide,
    ns: FileSide,
    opts: &DiffOptions,
) -> FileDiff {
    let format = format_of(old, new);
    let (content, error) = match content(format, old, new, opts) {
        Ok(c) => (c, None),
        Err(e) => (None, Some(e.to_string())),
    };
    FileDiff {
        path: rel,
        status: FileStatus::Changed,
        format: format.name().into(),
        old: Some(os),
        new: Some(ns),
        content,
        error,
    }
}

fn same(rel: &str, format: Format, s: FileSide) -> FileDiff {
    FileDiff {
        path: rel.into(),
        status: FileStatus::Unchanged,
        format: format.name().into(),
        old: Some(s.clone()),
        new: Some(s),
        content: None,
        error: None,
    }
}

fn one(rel: &str, format: Format, status: FileStatus, s: FileSide) -> FileDiff {
    let (old, new) = if status == FileStatus::Added {
        (None, Some(s))
    } else {
        (Some(s), None)
    };
    FileDiff {
        path: rel.into(),
        status,
        format: format.name().into(),
        old,
        new,
        content: None,
        error: None,
    }
}

/// Size and SHA-256 of a file, read in 1 MiB pieces.
fn side(input: &Input) -> DiffResult<FileSide> {
    let path = input.path();
    let mut file = input.open()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(FileSide {
        size,
        sha256: const_hex::encode(hasher.finalize()),
    })
}
