//! The catalog database: one writer connection, reader connections for queries (WAL lets them read while the
//! writer ingests), value encodings, rollback and the canonical dump.

use crate::{
    error::{IndexError, IndexResult},
    schema,
};
use alloy_primitives::{Address, U256};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

/// How many idle reader connections are kept.
pub const IDLE_READERS: usize = 8;

/// The catalog: a SQLite database with the assets, their versions, lineage, listings, licenses, shares,
/// revenue, proposals, votes, attestations, cards and a full-text index. Cheap to clone; every clone shares
/// the same connections. Queries are synchronous and take a few milliseconds: call them from
/// `tokio::task::spawn_blocking` in async code.
#[derive(Clone)]
pub struct Index {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    writer: Mutex<Connection>,
    /// `None` for an in-memory catalog, whose queries go through the writer connection.
    path: Option<PathBuf>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// A connection for a query: a pooled reader (returned to the pool on drop) or the writer (in memory).
pub(crate) enum ReadConn<'a> {
    Pooled(Option<Connection>, &'a Inner),
    Writer(MutexGuard<'a, Connection>),
}

impl std::ops::Deref for ReadConn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Self::Pooled(c, _) => c.as_ref().expect("reader present until drop"),
            Self::Writer(g) => g,
        }
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        if let Self::Pooled(conn, inner) = self
            && let Some(conn) = conn.take()
        {
            let mut pool = lock(&inner.readers);
            if pool.len() < IDLE_READERS {
                pool.push(conn);
            }
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Index {
    /// Opens (creating if needed) the catalog at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> IndexResult<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path)?;
        writer.busy_timeout(Duration::from_secs(10))?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        configure(&writer)?;
        schema::migrate(&mut writer)?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                path: Some(path),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// A catalog in memory (tests, benchmarks): queries share the writer's connection.
    pub fn open_in_memory() -> IndexResult<Self> {
        let mut writer = Connection::open_in_memory()?;
        configure(&writer)?;
        schema::migrate(&mut writer)?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                path: None,
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, Connection> {
        lock(&self.inner.writer)
    }

    pub(crate) fn reader(&self) -> IndexResult<ReadConn<'_>> {
        let Some(path) = &self.inner.path else {
            return Ok(ReadConn::Writer(self.writer()));
        };
        if let Some(conn) = lock(&self.inner.readers).pop() {
            return Ok(ReadConn::Pooled(Some(conn), &self.inner));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        configure(&conn)?;
        Ok(ReadConn::Pooled(Some(conn), &self.inner))
    }

    /// The next block the indexer will read, if it has started.
    pub fn next_block(&self) -> IndexResult<Option<u64>> {
        let conn = self.reader()?;
        Ok(conn
            .query_row("SELECT next_block FROM cursor", [], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|n| n as u64))
    }

    /// Every row of every chain-derived table and of the text index, in a canonical order, as text: two
    /// catalogs of the same chain are equal exactly when their dumps are. The undo journal and the remembered
    /// block hashes are left out (they depend on when blocks were seen, not on what they hold).
    pub fn canonical_dump(&self) -> IndexResult<String> {
        let conn = self.reader()?;
        let mut out = String::new();
        let mut tables: Vec<&str> = schema::CHAIN_TABLES.to_vec();
        tables.push("asset_fts");
        for table in tables {
            // The text index keeps its asset id in the rowid.
            let rowid = if table == "asset_fts" { "rowid, " } else { "" };
            let mut stmt = conn.prepare(&format!("SELECT {rowid}* FROM {table}"))?;
            let n = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let mut cols = Vec::with_capacity(n);
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        cols.push(format!("{v:?}"));
                    }
                    Ok(cols.join("|"))
                })?
                .collect::<Result<_, _>>()?;
            rows.sort();
            out.push_str(&format!("## {table} ({} rows)\n", rows.len()));
            for row in rows {
                out.push_str(&row);
                out.push('\n');
            }
        }
        let cursor: Option<i64> = conn
            .query_row("SELECT next_block FROM cursor", [], |r| r.get(0))
            .optional()?;
        out.push_str(&format!("## cursor\n{cursor:?}\n"));
        Ok(out)
    }
}

fn configure(conn: &Connection) -> IndexResult<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "cache_size", -64_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// Rolls every journaled change of blocks after `ancestor` back, newest first, and forgets those blocks.
pub(crate) fn rollback_to(conn: &Connection, ancestor: u64) -> IndexResult<u64> {
    conn.execute("UPDATE undo_ctx SET block = NULL WHERE id = 1", [])?;
    let mut stmt = conn.prepare("SELECT stmt FROM undo WHERE block > ?1 ORDER BY seq DESC")?;
    let stmts: Vec<String> = stmt
        .query_map(params![ancestor as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for s in &stmts {
        conn.execute_batch(s)?;
    }
    conn.execute(
        "DELETE FROM undo WHERE block > ?1",
        params![ancestor as i64],
    )?;
    conn.execute(
        "DELETE FROM blocks WHERE number > ?1",
        params![ancestor as i64],
    )?;
    conn.execute(
        "UPDATE cursor SET next_block = ?1",
        params![(ancestor + 1) as i64],
    )?;
    Ok(stmts.len() as u64)
}

// ---------------------------------------------------------------- value encodings

/// 64 hex digits: text order is numeric order.
pub(crate) fn num(v: U256) -> String {
    format!("{v:064x}")
}

pub(crate) fn parse_num(s: &str) -> IndexResult<U256> {
    U256::from_str_radix(s, 16).map_err(|_| IndexError::Corrupt {
        what: "amount",
        value: s.to_owned(),
    })
}

/// Lowercase `0x` hex.
pub(crate) fn addr(a: Address) -> String {
    format!("{a:#x}")
}

pub(crate) fn parse_addr(s: &str) -> IndexResult<Address> {
    s.parse().map_err(|_| IndexError::Corrupt {
        what: "address",
        value: s.to_owned(),
    })
}

/// A CID's text form, or `0x` hex when the bytes are not a CID (the contracts accept any non-empty bytes).
pub(crate) fn cid_text(bytes: &[u8]) -> String {
    match scal3ml_primitives::Cid::from_bytes(bytes) {
        Ok(cid) => cid.to_string(),
        Err(_) => format!("0x{}", alloy_primitives::hex::encode(bytes)),
    }
}
