//! What the diff reads: files by name, opened by whoever holds them. A local file opens from its path; content
//! in a block store opens through the store's bounded reader (the node never writes content to disk to compare
//! it). A [`Tree`] is one side of a comparison: a single file, or a folder of files by relative path.

use crate::error::{DiffError, DiffResult, io_err};
use std::{
    collections::BTreeMap,
    fmt,
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
};

/// An open file's bytes, from the start.
pub type Reader = Box<dyn Read + Send>;

type Open = dyn Fn() -> std::io::Result<Reader> + Send + Sync;

/// One file to compare: its name (whose extension names its format, and which messages show), its size, and
/// how to read it from the start (a comparison may read a file more than once).
#[derive(Clone)]
pub struct Input {
    name: PathBuf,
    size: u64,
    open: Arc<Open>,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Input {
    /// A file read by `open`, shown as `name`, of `size` bytes (a reader yielding fewer bytes than `size` is
    /// a truncated file; one yielding more is read only to `size` by the formats that know their length).
    pub fn new(
        name: impl Into<PathBuf>,
        size: u64,
        open: impl Fn() -> std::io::Result<Reader> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            size,
            open: Arc::new(open),
        }
    }

    /// A local file.
    pub fn local(path: &Path) -> DiffResult<Self> {
        let size = std::fs::metadata(path).map_err(io_err(path))?.len();
        let owned = path.to_path_buf();
        Ok(Self::new(path, size, move || {
            std::fs::File::open(&owned).map(|f| Box::new(f) as Reader)
        }))
    }

    /// Its name.
    pub fn path(&self) -> &Path {
        &self.name
    }

    /// Its size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its bytes, from the start.
    pub(crate) fn open(&self) -> DiffResult<Reader> {
        (self.open)().map_err(io_err(&self.name))
    }
}

/// One side of a comparison.
#[derive(Clone, Debug)]
pub enum Tree {
    /// A single file.
    File(Input),
    /// Files by `/`-separated relative path.
    Folder(BTreeMap<String, Input>),
}

impl Tree {
    /// A local file or folder: every regular file under a folder (symbolic links are not followed).
    pub fn local(path: &Path) -> DiffResult<Self> {
        let meta = std::fs::metadata(path).map_err(io_err(path))?;
        if !meta.is_dir() {
            return Ok(Self::File(Input::local(path)?));
        }
        let mut out = BTreeMap::new();
        let mut stack = vec![(path.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            for entry in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
                let entry = entry.map_err(io_err(&dir))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(io_err(&path))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                if kind.is_dir() {
                    stack.push((path, rel));
                } else if kind.is_file() {
                    out.insert(rel, Input::local(&path)?);
                }
            }
        }
        Ok(Self::Folder(out))
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::File(_) => "file",
            Self::Folder(_) => "folder",
        }
    }

    /// Refuses two sides of different kinds.
    pub(crate) fn same_kind(old: &Self, new: &Self, labels: (&str, &str)) -> DiffResult<()> {
        if old.kind() != new.kind() {
            return Err(DiffError::KindMismatch {
                old: labels.0.into(),
                old_kind: old.kind(),
                new: labels.1.into(),
                new_kind: new.kind(),
            });
        }
        Ok(())
    }
}
