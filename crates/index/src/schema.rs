//! The catalog's tables, their migrations (`PRAGMA user_version`) and the undo journal's triggers.
//!
//! Big numbers (prices, balances, amounts: up to 256 bits) are stored as 64 lowercase hex digits, so that text
//! order is numeric order and indexes on prices work. Addresses are stored as 40 lowercase hex digits with `0x`.
//! CIDs are stored as their binary form (as the contracts emit them).

use crate::error::{IndexError, IndexResult};
use rusqlite::Connection;

/// Tables derived from chain events. Every change to them while a block is being applied is journaled by
/// triggers into `undo`, so a reorg can be rolled back exactly.
pub(crate) const CHAIN_TABLES: &[&str] = &[
    "assets",
    "versions",
    "lineage",
    "listings",
    "licenses",
    "shares",
    "revenue",
    "token_sales",
    "fees",
    "settings",
    "payment_tokens",
    "proposals",
    "votes",
    "attestations",
    "reviews",
];

const V1: &str = r#"
CREATE TABLE cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    chain_id INTEGER NOT NULL,
    marketplace TEXT NOT NULL,
    attestations TEXT NOT NULL,
    start_block INTEGER NOT NULL,
    next_block INTEGER NOT NULL
);
-- Hashes of recently indexed blocks (every block that had events, and the end of every range).
CREATE TABLE blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL);
-- The block being applied; NULL while nothing is journaled (rollbacks, blocks too old to be reorged).
CREATE TABLE undo_ctx (id INTEGER PRIMARY KEY CHECK (id = 1), block INTEGER);
INSERT INTO undo_ctx (id, block) VALUES (1, NULL);
-- Inverse statements of every journaled change, replayed newest first on rollback.
CREATE TABLE undo (seq INTEGER PRIMARY KEY, block INTEGER NOT NULL, stmt TEXT NOT NULL);
CREATE INDEX undo_block ON undo (block);

CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    owner TEXT NOT NULL,
    publisher TEXT NOT NULL,
    encrypted INTEGER NOT NULL,
    deprecated INTEGER NOT NULL DEFAULT 0,
    gateway_url TEXT NOT NULL,
    created_block INTEGER NOT NULL,
    created_time INTEGER NOT NULL,
    latest_version INTEGER,
    metadata_cid BLOB,
    sales INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX assets_kind ON assets (kind, id);
CREATE INDEX assets_owner ON assets (owner, id);
CREATE INDEX assets_sales ON assets (sales, id);
CREATE INDEX assets_metadata ON assets (metadata_cid);

CREATE TABLE versions (
    asset_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    content_cid BLOB NOT NULL,
    metadata_cid BLOB NOT NULL,
    author TEXT NOT NULL,
    commitment BLOB NOT NULL,
    block INTEGER NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (asset_id, idx)
);

CREATE TABLE lineage (
    child INTEGER NOT NULL,
    parent INTEGER NOT NULL,
    royalty_bps INTEGER NOT NULL,
    PRIMARY KEY (child, parent)
);
CREATE INDEX lineage_parent ON lineage (parent, child);

CREATE TABLE listings (
    asset_id INTEGER NOT NULL,
    token TEXT NOT NULL,
    price TEXT NOT NULL,
    duration INTEGER NOT NULL,
    active INTEGER NOT NULL,
    PRIMARY KEY (asset_id, token)
);
CREATE INDEX listings_price ON listings (token, active, price, asset_id);
CREATE INDEX listings_free ON listings (active, price, asset_id);

CREATE TABLE licenses (
    asset_id INTEGER NOT NULL,
    buyer TEXT NOT NULL,
    token TEXT NOT NULL,
    paid TEXT NOT NULL,
    expiry INTEGER NOT NULL,
    purchases INTEGER NOT NULL,
    PRIMARY KEY (asset_id, buyer, token)
);
CREATE INDEX licenses_buyer ON licenses (buyer, asset_id);

CREATE TABLE shares (
    asset_id INTEGER NOT NULL,
    holder TEXT NOT NULL,
    balance TEXT NOT NULL,
    PRIMARY KEY (asset_id, holder)
);
CREATE INDEX shares_holder ON shares (holder, asset_id);

CREATE TABLE revenue (
    asset_id INTEGER NOT NULL,
    token TEXT NOT NULL,
    credited TEXT NOT NULL,
    royalties_received TEXT NOT NULL,
    royalties_paid TEXT NOT NULL,
    withdrawn TEXT NOT NULL,
    PRIMARY KEY (asset_id, token)
);

CREATE TABLE token_sales (token TEXT PRIMARY KEY, sales INTEGER NOT NULL, volume TEXT NOT NULL);
CREATE TABLE fees (token TEXT PRIMARY KEY, charged TEXT NOT NULL, withdrawn TEXT NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE payment_tokens (token TEXT PRIMARY KEY, block INTEGER NOT NULL);

CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    asset_id INTEGER NOT NULL,
    proposer TEXT NOT NULL,
    content_cid BLOB NOT NULL,
    metadata_cid BLOB NOT NULL,
    requested_shares TEXT NOT NULL,
    description_cid BLOB NOT NULL,
    block INTEGER NOT NULL,
    time INTEGER NOT NULL,
    snapshot_block INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    state TEXT NOT NULL,
    version_index INTEGER,
    yes_votes TEXT NOT NULL,
    no_votes TEXT NOT NULL
);
CREATE INDEX proposals_asset ON proposals (asset_id, id);

CREATE TABLE votes (
    proposal_id INTEGER NOT NULL,
    voter TEXT NOT NULL,
    support INTEGER NOT NULL,
    weight TEXT NOT NULL,
    PRIMARY KEY (proposal_id, voter)
);

CREATE TABLE attestations (
    id INTEGER PRIMARY KEY,
    model_asset INTEGER NOT NULL,
    model_version INTEGER NOT NULL,
    dataset_asset INTEGER NOT NULL,
    dataset_version INTEGER NOT NULL,
    attester TEXT NOT NULL,
    metric TEXT NOT NULL,
    value TEXT NOT NULL,
    decimals INTEGER NOT NULL,
    report_cid BLOB NOT NULL,
    block INTEGER NOT NULL,
    endorsements INTEGER NOT NULL DEFAULT 0,
    disputes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attestations_model ON attestations (model_asset, id);
CREATE INDEX attestations_dataset ON attestations (dataset_asset, id);

CREATE TABLE reviews (
    attestation_id INTEGER NOT NULL,
    reviewer TEXT NOT NULL,
    agrees INTEGER NOT NULL,
    report_cid BLOB NOT NULL,
    PRIMARY KEY (attestation_id, reviewer)
);

-- Cards are content addressed: one row per metadata CID, never journaled (a CID's card never changes).
-- status: 0 not fetched yet (retried with back-off), 1 parsed, 2 not a JSON object (never retried).
CREATE TABLE cards (
    cid BLOB PRIMARY KEY,
    status INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    json TEXT,
    name TEXT,
    description TEXT,
    license TEXT,
    tags TEXT,
    task TEXT,
    framework TEXT
);
CREATE INDEX cards_pending ON cards (status, next_try);

-- Full-text index, one row per asset (rowid = asset id), the text of its current card.
CREATE VIRTUAL TABLE asset_fts USING fts5 (
    name, description, tags, task, framework, license,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The text follows the asset's current metadata CID and the card's arrival. These triggers also fire while
-- a reorg is undone, so the text index always matches the rows.
CREATE TRIGGER assets_text_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_fts (rowid, name, description, tags, task, framework, license)
        SELECT NEW.id, name, description, tags, task, framework, license FROM cards
        WHERE cid = NEW.metadata_cid AND status = 1;
END;
CREATE TRIGGER assets_text_update AFTER UPDATE OF metadata_cid ON assets
    WHEN NEW.metadata_cid IS NOT OLD.metadata_cid BEGIN
    DELETE FROM asset_fts WHERE rowid = NEW.id;
    INSERT INTO asset_fts (rowid, name, description, tags, task, framework, license)
        SELECT NEW.id, name, description, tags, task, framework, license FROM cards
        WHERE cid = NEW.metadata_cid AND status = 1;
END;
CREATE TRIGGER assets_text_delete AFTER DELETE ON assets BEGIN
    DELETE FROM asset_fts WHERE rowid = OLD.id;
END;
CREATE TRIGGER cards_text AFTER UPDATE OF status ON cards WHEN NEW.status = 1 BEGIN
    DELETE FROM asset_fts WHERE rowid IN (SELECT id FROM assets WHERE metadata_cid = NEW.cid);
    INSERT INTO asset_fts (rowid, name, description, tags, task, framework, license)
        SELECT id, NEW.name, NEW.description, NEW.tags, NEW.task, NEW.framework, NEW.license
        FROM assets WHERE metadata_cid = NEW.cid;
END;
"#;

/// The newest schema version: 2 stores a card's description as its plain words (`card::plain_text`), 3 indexes
/// the CIDs events name.
pub(crate) const VERSION: i64 = 3;

/// Version 3: indexes on every CID a chain event names, so the node can ask whether an upload is referenced
/// ([`crate::Index::references`]) without scanning the catalog.
const V3: &str = "
CREATE INDEX IF NOT EXISTS versions_content ON versions (content_cid);
CREATE INDEX IF NOT EXISTS versions_metadata ON versions (metadata_cid);
CREATE INDEX IF NOT EXISTS proposals_content ON proposals (content_cid);
CREATE INDEX IF NOT EXISTS proposals_metadata ON proposals (metadata_cid);
CREATE INDEX IF NOT EXISTS proposals_description ON proposals (description_cid);
CREATE INDEX IF NOT EXISTS attestations_report ON attestations (report_cid);
CREATE INDEX IF NOT EXISTS reviews_report ON reviews (report_cid);
";

/// Brings a database to the newest schema.
pub(crate) fn migrate(conn: &mut Connection) -> IndexResult<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(IndexError::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    if found < 1 {
        let tx = conn.transaction()?;
        tx.execute_batch(V1)?;
        for table in CHAIN_TABLES {
            tx.execute_batch(&undo_triggers(&tx, table)?)?;
        }
        tx.pragma_update(None, "user_version", 1)?;
        tx.commit()?;
    }
    if found < 2 {
        // Version 1 stored descriptions as Markdown, so searches matched link URLs and snippets showed the
        // syntax: read every stored card again, then the text index.
        let tx = conn.transaction()?;
        let cards: Vec<(Vec<u8>, String)> = tx
            .prepare("SELECT cid, json FROM cards WHERE status = 1")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (cid, json) in cards {
            if let Some((_, card)) = crate::card::parse(json.as_bytes()) {
                tx.execute(
                    "UPDATE cards SET description = ?2 WHERE cid = ?1",
                    rusqlite::params![cid, card.description],
                )?;
            }
        }
        tx.execute_batch(
            "DELETE FROM asset_fts;
             INSERT INTO asset_fts (rowid, name, description, tags, task, framework, license)
                 SELECT a.id, c.name, c.description, c.tags, c.task, c.framework, c.license
                 FROM assets a JOIN cards c ON c.cid = a.metadata_cid AND c.status = 1;",
        )?;
        tx.pragma_update(None, "user_version", 2)?;
        tx.commit()?;
    }
    if found < 3 {
        let tx = conn.transaction()?;
        tx.execute_batch(V3)?;
        tx.pragma_update(None, "user_version", 3)?;
        tx.commit()?;
    }
    Ok(())
}

/// Three triggers per chain table that write the inverse of each change into `undo` while a block is being
/// journaled: an insert is undone by deleting the row, an update by restoring every column, a delete by
/// inserting the row again with its rowid. Values are quoted with SQLite's own `quote()`, exact for every type.
fn undo_triggers(conn: &Connection, table: &str) -> IndexResult<String> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let columns: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<_, _>>()?;
    let set = columns
        .iter()
        .map(|c| format!("'{c} = ' || quote(OLD.{c})"))
        .collect::<Vec<_>>()
        .join(" || ', ' || ");
    let names = columns.join(", ");
    let values = columns
        .iter()
        .map(|c| format!("quote(OLD.{c})"))
        .collect::<Vec<_>>()
        .join(" || ', ' || ");
    let when = "WHEN (SELECT block FROM undo_ctx WHERE id = 1) IS NOT NULL";
    let block = "(SELECT block FROM undo_ctx WHERE id = 1)";
    Ok(format!(
        "CREATE TRIGGER {table}_undo_insert AFTER INSERT ON {table} {when} BEGIN
            INSERT INTO undo (block, stmt) VALUES ({block},
                'DELETE FROM {table} WHERE rowid = ' || NEW.rowid);
        END;
        CREATE TRIGGER {table}_undo_update AFTER UPDATE ON {table} {when} BEGIN
            INSERT INTO undo (block, stmt) VALUES ({block},
                'UPDATE {table} SET ' || {set} || ' WHERE rowid = ' || OLD.rowid);
        END;
        CREATE TRIGGER {table}_undo_delete AFTER DELETE ON {table} {when} BEGIN
            INSERT INTO undo (block, stmt) VALUES ({block},
                'INSERT INTO {table} (rowid, {names}) VALUES (' || OLD.rowid || ', ' || {values} || ')');
        END;"
    ))
}
