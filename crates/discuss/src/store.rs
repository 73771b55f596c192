//! The discussions table: one row per verified comment, with the owner's latest hide decision, in its own
//! SQLite file (`discussions.sqlite` in the data directory). It is not part of the chain catalog: no undo
//! journal, not in the catalog's canonical dump, untouched by reorgs and catalog rebuilds. Every row's
//! documents are pinned raw blocks in the block store, so a lost table could be rebuilt from the pins.

use rusqlite::{Connection, OptionalExtension as _, params};
use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use super::{CommentDoc, HideDoc};
use scal3ml_api::{CommentNode, HideInfo, Thread};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS comments (
    cid            TEXT PRIMARY KEY,
    asset_id       INTEGER NOT NULL,
    proposal_id    INTEGER NOT NULL,
    parent         TEXT NOT NULL,
    author         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    body           TEXT NOT NULL,
    signature      TEXT NOT NULL,
    hidden         INTEGER NOT NULL DEFAULT 0,
    hide_cid       TEXT,
    hide_owner     TEXT,
    hide_at        INTEGER,
    hide_signature TEXT
);
CREATE INDEX IF NOT EXISTS comments_by_thread ON comments (asset_id, proposal_id, created_at);
PRAGMA user_version = 1;
";

/// A failed read or write of the table.
#[derive(Debug, thiserror::Error)]
#[error("the discussions table at {path}: {source}")]
pub struct DiscussError {
    path: String,
    source: rusqlite::Error,
}

/// The table, shared by the API and the pages.
#[derive(Clone)]
pub struct Discussions {
    conn: Arc<Mutex<Connection>>,
    path: Arc<str>,
}

/// What [`Discussions::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The comment is new to the table.
    New,
    /// The same comment (the same CID) was already there.
    AlreadyThere,
}

impl Discussions {
    /// Opens (creating) the table's file.
    pub fn open(path: &Path) -> Result<Self, DiscussError> {
        let shown: Arc<str> = path.display().to_string().into();
        let err = |source| DiscussError {
            path: shown.to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: shown,
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DiscussError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|source| DiscussError {
            path: self.path.to_string(),
            source,
        })
    }

    /// Records a verified comment stored as `cid`.
    pub fn insert(&self, cid: &str, doc: &CommentDoc) -> Result<Inserted, DiscussError> {
        self.with(|c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO comments
                 (cid, asset_id, proposal_id, parent, author, created_at, body, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    cid,
                    doc.asset as i64,
                    doc.proposal as i64,
                    doc.parent,
                    doc.author.to_checksum(None),
                    doc.created_at as i64,
                    doc.body,
                    doc.signature,
                ],
            )?;
            Ok(if n == 1 {
                Inserted::New
            } else {
                Inserted::AlreadyThere
            })
        })
    }

    /// Records the owner's verified decision stored as `hide_cid`.
    pub fn set_hidden(&self, hide_cid: &str, doc: &HideDoc) -> Result<(), DiscussError> {
        self.with(|c| {
            c.execute(
                "UPDATE comments SET hidden = ?2, hide_cid = ?3, hide_owner = ?4, hide_at = ?5,
                 hide_signature = ?6 WHERE cid = ?1",
                params![
                    doc.comment,
                    doc.hidden,
                    hide_cid,
                    doc.owner.to_checksum(None),
                    doc.created_at as i64,
                    doc.signature,
                ],
            )?;
            Ok(())
        })
    }

    /// Whether the table holds no comment.
    pub fn is_empty(&self) -> Result<bool, DiscussError> {
        self.with(|c| {
            c.query_row("SELECT NOT EXISTS (SELECT 1 FROM comments)", [], |r| {
                r.get(0)
            })
        })
    }

    /// One comment, without its replies.
    pub fn get(&self, cid: &str) -> Result<Option<CommentNode>, DiscussError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM comments WHERE cid = ?1"),
                [cid],
                row,
            )
            .optional()
        })
    }

    /// The threads on `asset` (on its proposal `proposal`, or on the asset itself for 0).
    pub fn thread(&self, asset: u64, proposal: u64) -> Result<Thread, DiscussError> {
        let rows = self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM comments WHERE asset_id = ?1 AND proposal_id = ?2
                 ORDER BY created_at, cid"
            ))?;
            stmt.query_map(params![asset as i64, proposal as i64], row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(Thread {
            asset,
            proposal,
            count: rows.len() as u64,
            comments: tree(rows),
        })
    }
}

const COLUMNS: &str = "cid, asset_id, proposal_id, parent, author, created_at, body, signature, hidden, \
                       hide_cid, hide_owner, hide_at, hide_signature";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CommentNode> {
    let hide_cid: Option<String> = r.get(9)?;
    let hide = match hide_cid {
        Some(cid) => Some(HideInfo {
            cid,
            owner: r.get(10)?,
            created_at: r.get::<_, i64>(11)? as u64,
            signature: r.get(12)?,
        }),
        None => None,
    };
    Ok(CommentNode {
        cid: r.get(0)?,
        asset: r.get::<_, i64>(1)? as u64,
        proposal: r.get::<_, i64>(2)? as u64,
        parent: r.get(3)?,
        author: r.get(4)?,
        created_at: r.get::<_, i64>(5)? as u64,
        body: r.get(6)?,
        signature: r.get(7)?,
        hidden: r.get(8)?,
        hide,
        replies: Vec::new(),
    })
}

/// Comments (oldest first) into trees: each under its parent, top-level ones where the parent is "" (or not
/// in this thread, which the node never accepts).
fn tree(rows: Vec<CommentNode>) -> Vec<CommentNode> {
    let mut children: HashMap<String, Vec<CommentNode>> = HashMap::new();
    let mut roots = Vec::new();
    let known: std::collections::HashSet<String> = rows.iter().map(|c| c.cid.clone()).collect();
    for c in rows {
        if c.parent.is_empty() || !known.contains(&c.parent) {
            roots.push(c);
        } else {
            children.entry(c.parent.clone()).or_default().push(c);
        }
    }
    fn attach(node: &mut CommentNode, children: &mut HashMap<String, Vec<CommentNode>>) {
        node.replies = children.remove(&node.cid).unwrap_or_default();
        for r in &mut node.replies {
            attach(r, children);
        }
    }
    for r in &mut roots {
        attach(r, &mut children);
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    fn doc(parent: &str, at: u64) -> CommentDoc {
        CommentDoc {
            chain_id: 1,
            marketplace: Address::ZERO,
            asset: 1,
            proposal: 0,
            parent: parent.into(),
            body: format!("at {at}"),
            created_at: at,
            author: Address::ZERO,
            signature: "0x".into(),
        }
    }

    #[test]
    fn comments_come_back_as_trees_with_children_by_time_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sqlite");
        let d = Discussions::open(&path).unwrap();
        assert_eq!(d.insert("a", &doc("", 10)).unwrap(), Inserted::New);
        assert_eq!(d.insert("a", &doc("", 10)).unwrap(), Inserted::AlreadyThere);
        d.insert("c", &doc("a", 30)).unwrap();
        d.insert("b", &doc("a", 20)).unwrap();
        d.insert("d", &doc("b", 40)).unwrap();
        d.insert("e", &doc("", 5)).unwrap();
        drop(d);
        let t = Discussions::open(&path).unwrap().thread(1, 0).unwrap();
        assert_eq!(t.count, 5);
        let tops: Vec<&str> = t.comments.iter().map(|c| c.cid.as_str()).collect();
        assert_eq!(tops, ["e", "a"]);
        let a = &t.comments[1];
        let replies: Vec<&str> = a.replies.iter().map(|c| c.cid.as_str()).collect();
        assert_eq!(replies, ["b", "c"]);
        assert_eq!(a.replies[0].replies[0].cid, "d");
    }
}
