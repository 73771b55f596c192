//! Append-only JSON-lines files that survive a torn write: the key store, the nonce book and the audit log.
//!
//! A record is one JSON object and its `\n`, written with one `write`. A crash (kill -9, power loss) can leave
//! a prefix of the last record at the end of the file: bytes after the last `\n`. [`AppendLog::open`] cuts
//! that tail off (and fsyncs the cut) before anything is appended, so the next record starts on a line of its
//! own instead of being glued onto the fragment, and is read back at the next start. A record is acknowledged
//! only once [`AppendLog::append`] returned (with `sync`, once it is on disk), so the cut never loses one.
//!
//! Files written before this existed may hold a fragment with a complete record glued after it on one line;
//! [`AppendLog::records`] keeps that record. Any other line that does not parse is damage, not a torn write,
//! and is reported with its line number.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

use crate::error::{AccessError, AccessResult};

/// An append-only JSON-lines file, opened for appending after its torn tail (if any) was cut off.
#[derive(Debug)]
pub struct AppendLog {
    path: PathBuf,
    file: File,
    mode: u32,
}

impl AppendLog {
    /// Opens (or creates, with permission bits `mode`) the file at `path`, and cuts off a torn last record.
    pub fn open(path: &Path, mode: u32) -> AccessResult<Self> {
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(mode)
            .open(path)
            .map_err(|e| AccessError::io("cannot open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| AccessError::io("cannot read", path, e))?
            .len();
        let keep =
            complete_len(&mut file, len).map_err(|e| AccessError::io("cannot read", path, e))?;
        if keep < len {
            tracing::warn!(
                target: "access::append_log",
                path = %path.display(),
                cut = len - keep,
                "cutting off a record torn by a crash (it was never acknowledged)"
            );
            file.set_len(keep)
                .and_then(|()| file.sync_all())
                .map_err(|e| AccessError::io("cannot cut the torn tail of", path, e))?;
        }
        if !existed {
            sync_dir(path)?;
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            mode,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record in the file, in order. Blank lines are skipped; a line that does not parse is an error
    /// naming the file and the line, except a fragment left by a torn write before a complete record on the
    /// same line, which yields that record.
    pub fn records<T: DeserializeOwned>(&self) -> AccessResult<Vec<T>> {
        let mut f =
            File::open(&self.path).map_err(|e| AccessError::io("cannot read", &self.path, e))?;
        f.seek(SeekFrom::Start(0))
            .map_err(|e| AccessError::io("cannot read", &self.path, e))?;
        let mut out = Vec::new();
        for (i, line) in BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| AccessError::io("cannot read", &self.path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(&line) {
                Some(r) => out.push(r),
                None => {
                    return Err(AccessError::KeyStore(format!(
                        "{} line {} is damaged (not a record of this file, and not a torn write: those are only \
                         ever at the end); restore the file from your backup",
                        self.path.display(),
                        i + 1
                    )));
                }
            }
        }
        Ok(out)
    }

    /// Appends `record` as one line in one write; with `sync`, returns only once it is on disk.
    pub fn append<T: Serialize>(&mut self, record: &T, sync: bool) -> AccessResult<()> {
        let mut line = serde_json::to_vec(record).map_err(|e| {
            AccessError::KeyStore(format!("encoding a record of {}: {e}", self.path.display()))
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| AccessError::io("cannot write", &self.path, e))?;
        if sync {
            self.file
                .sync_data()
                .map_err(|e| AccessError::io("cannot sync", &self.path, e))?;
        }
        Ok(())
    }

    /// Replaces the whole file with `records`, atomically: a temporary file beside it, fsynced, renamed over
    /// it, and the directory fsynced. A crash leaves the old file or the new one, never a mix.
    pub fn rewrite<T: Serialize>(
        &mut self,
        records: impl IntoIterator<Item = T>,
    ) -> AccessResult<()> {
        let tmp = self.path.with_extension("tmp");
        let mut out = Vec::new();
        for r in records {
            serde_json::to_writer(&mut out, &r).map_err(|e| {
                AccessError::KeyStore(format!("encoding a record of {}: {e}", self.path.display()))
            })?;
            out.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(self.mode)
            .open(&tmp)
            .map_err(|e| AccessError::io("cannot write", &tmp, e))?;
        f.write_all(&out)
            .and_then(|()| f.sync_all())
            .map_err(|e| AccessError::io("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| AccessError::io("cannot replace", &self.path, e))?;
        sync_dir(&self.path)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| AccessError::io("cannot open", &self.path, e))?;
        Ok(())
    }
}

/// A record, or, for a line where a torn fragment precedes a complete record, that record.
fn parse_line<T: DeserializeOwned>(line: &str) -> Option<T> {
    if let Ok(r) = serde_json::from_str(line) {
        return Some(r);
    }
    line.match_indices('{')
        .skip(1)
        .find_map(|(i, _)| serde_json::from_str(&line[i..]).ok())
}

/// The length of the file up to and including its last `\n` (0 if it has none).
fn complete_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Makes a file's creation or rename durable.
fn sync_dir(path: &Path) -> AccessResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AccessError::io("cannot sync the directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Rec {
        n: u32,
        text: String,
    }

    fn rec(n: u32) -> Rec {
        Rec {
            n,
            text: format!("record {n} \u{e9}\u{1F511}"),
        }
    }

    // Regression: a torn last line was skipped but kept, so the next append was glued onto it and lost at the
    // next start. Every cut of the last record, at every byte, must keep what was acknowledged before it and
    // what is appended after it.
    #[test]
    fn regression_torn_tail_at_every_byte_keeps_every_acknowledged_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        {
            let mut log = AppendLog::open(&path, 0o600).unwrap();
            log.append(&rec(1), true).unwrap();
            log.append(&rec(2), true).unwrap();
        }
        let whole = std::fs::read(&path).unwrap();
        let last_start = whole[..whole.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in last_start..=whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            // Record 2 was cut (never acknowledged) unless the cut kept all of it.
            let kept_two = cut == whole.len();
            let expect_before: Vec<Rec> = if kept_two {
                vec![rec(1), rec(2)]
            } else {
                vec![rec(1)]
            };
            {
                let mut log = AppendLog::open(&path, 0o600).unwrap();
                assert_eq!(log.records::<Rec>().unwrap(), expect_before, "cut at {cut}");
                log.append(&rec(3), true).unwrap();
            }
            let log = AppendLog::open(&path, 0o600).unwrap();
            let mut expect = expect_before;
            expect.push(rec(3));
            assert_eq!(
                log.records::<Rec>().unwrap(),
                expect,
                "cut at {cut}, after an append"
            );
        }
    }

    #[test]
    fn a_file_glued_by_the_old_bug_keeps_the_complete_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(
            &path,
            "{\"n\":1,\"text\":\"a\"}\n{\"n\":2,\"te{\"n\":3,\"text\":\"c\"}\n",
        )
        .unwrap();
        let log = AppendLog::open(&path, 0o600).unwrap();
        let got: Vec<Rec> = log.records().unwrap();
        assert_eq!(got.iter().map(|r| r.n).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn damage_in_the_middle_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(
            &path,
            "{\"n\":1,\"text\":\"a\"}\ngarbage\n{\"n\":2,\"text\":\"b\"}\n",
        )
        .unwrap();
        let err = AppendLog::open(&path, 0o600)
            .unwrap()
            .records::<Rec>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2 is damaged"), "{err}");
    }

    #[test]
    fn rewrite_replaces_the_file_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut log = AppendLog::open(&path, 0o600).unwrap();
        for n in 0..5 {
            log.append(&rec(n), false).unwrap();
        }
        log.rewrite([rec(7)]).unwrap();
        log.append(&rec(8), false).unwrap();
        let log = AppendLog::open(&path, 0o600).unwrap();
        assert_eq!(log.records::<Rec>().unwrap(), vec![rec(7), rec(8)]);
        assert!(!path.with_extension("tmp").exists());
    }
}
