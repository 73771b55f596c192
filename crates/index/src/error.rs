//! The one error type of the catalog.

/// What can go wrong while indexing or querying.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// SQLite refused an operation.
    #[error("catalog database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The database was written by a newer version of Scal3ML.
    #[error(
        "catalog database schema version {found} is newer than this build understands ({supported}); \
         upgrade scal3ml or rebuild the catalog by deleting the file"
    )]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The JSON-RPC node failed or refused a request.
    #[error(
        "chain RPC {method} failed: {message}; check that the node at the RPC URL is up and synced"
    )]
    Rpc {
        /// The request that failed.
        method: &'static str,
        /// What the node or transport said.
        message: String,
    },
    /// The chain has no block where one was expected (the node is behind or pruned).
    #[error("the chain has no block {number}; is the RPC node synced?")]
    MissingBlock {
        /// The block number asked for.
        number: u64,
    },
    /// A reorg went deeper than the blocks the catalog remembers.
    #[error(
        "chain reorganisation deeper than the {retained} recent blocks the catalog can undo (no common ancestor \
         at or after block {oldest}); rebuild the catalog from block 0 (delete the catalog file)"
    )]
    ReorgTooDeep {
        /// Oldest block whose hash the catalog remembers.
        oldest: u64,
        /// How many blocks are retained.
        retained: u64,
    },
    /// The catalog was built for other contracts or another chain.
    #[error(
        "catalog was built for {stored}, not {given}; use another catalog file or delete this one to rebuild"
    )]
    WrongChain {
        /// What the catalog holds.
        stored: String,
        /// What the indexer was given.
        given: String,
    },
    /// A value in the database could not be read back (the file was changed by something else).
    #[error("catalog database holds a malformed value in {what}: {value:?}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A background task panicked or was cancelled.
    #[error("catalog worker task failed: {0}")]
    Task(String),
}

/// Result alias of the catalog.
pub type IndexResult<T> = Result<T, IndexError>;
