//! The one error type of the store, [`StoreError`], and its result alias.

use crate::cid::Cid;

/// Result alias for every fallible store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything that can go wrong in the store. Each message says what was wrong and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The block is not in the store (or not reachable from this backend).
    #[error(
        "block {cid} not found: add or fetch it first (for example `scal3ml store import-car`)"
    )]
    NotFound {
        /// The missing block.
        cid: Cid,
    },
    /// The bytes of a block do not hash to its CID.
    #[error(
        "block {cid} is corrupt: its bytes hash to {actual}; add or fetch the content again (a local store replaces \
         the corrupt copy)"
    )]
    HashMismatch {
        /// The CID the block was stored or requested under.
        cid: Cid,
        /// The CID the bytes actually hash to (same version and codec).
        actual: Cid,
    },
    /// A CID string or byte string that does not parse.
    #[error("invalid CID {input:?}: {reason}")]
    InvalidCid {
        /// The input (text, or hex of the bytes).
        input: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A CID whose codec this store does not know.
    #[error(
        "unsupported codec 0x{code:x}: only raw (0x55), dag-pb (0x70), dag-cbor (0x71) and dag-json (0x0129) are supported"
    )]
    UnsupportedCodec {
        /// The multicodec code.
        code: u64,
    },
    /// A CID whose multihash function this store cannot verify.
    #[error(
        "unsupported hash function 0x{code:x} (length {len}): only sha2-256 (0x12, 32 bytes) can be verified"
    )]
    UnsupportedHash {
        /// The multihash code.
        code: u64,
        /// The digest length given.
        len: u64,
    },
    /// A block bigger than the limit every IPFS implementation accepts.
    #[error("block of {size} bytes exceeds the {limit}-byte block limit: use a smaller chunk size")]
    BlockTooLarge {
        /// The block's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes that do not decode as the format they claim to be.
    #[error("malformed {format}: {reason}")]
    Malformed {
        /// Which format: "dag-pb", "UnixFS", "CAR", "encrypted stream", ...
        format: &'static str,
        /// What exactly is wrong.
        reason: String,
    },
    /// A DAG whose links lead back to a block on the current path.
    #[error("link cycle through block {cid}: the DAG is malformed (a CID cannot contain itself)")]
    Cycle {
        /// The block reached again.
        cid: Cid,
    },
    /// A DAG node that is not what the operation needs (e.g. `cat` of a directory).
    #[error("{cid} is {found}, expected {expected}")]
    WrongKind {
        /// The node.
        cid: Cid,
        /// What was found.
        found: String,
        /// What the operation needs.
        expected: &'static str,
    },
    /// A path inside a DAG that does not exist.
    #[error("no entry {name:?} in directory {dir}")]
    NoSuchEntry {
        /// The directory searched.
        dir: Cid,
        /// The missing name.
        name: String,
    },
    /// A byte range outside the content.
    #[error("range {start}..{end} is outside the content of {size} bytes")]
    RangeOutOfBounds {
        /// First byte asked for.
        start: u64,
        /// One past the last byte asked for.
        end: u64,
        /// The content size.
        size: u64,
    },
    /// A decryption failure: wrong key, or ciphertext that was truncated, reordered or modified.
    #[error("decryption failed: {reason}")]
    Decrypt {
        /// What was detected.
        reason: String,
    },
    /// An argument or option that makes no sense.
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// An I/O error, with what the store was doing.
    #[error("{context}: {source}")]
    Io {
        /// What the store was doing, including the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Content that would be unsafe to write or read as asked: a symlink, a duplicate name, a path that leaves
    /// the destination, more bytes than fit.
    #[error("refusing {entry}: {reason}")]
    Refused {
        /// The entry, as a path inside the content (or the content's CID).
        entry: String,
        /// Why, and what to do.
        reason: String,
    },
    /// Reading the content took more than a reader allows (bytes actually read, entries listed, depth).
    #[error("the content is over the limit of {limit} {what}: {hint}")]
    LimitExceeded {
        /// What was counted: `bytes`, `directory entries`, `levels of nesting`.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// What to do instead.
        hint: &'static str,
    },
    /// A remote backend (Kubo RPC, trustless gateway, pinning service) failed.
    #[error("remote {backend} failed: {reason}")]
    Remote {
        /// Which backend and URL.
        backend: String,
        /// What it answered or why it could not be reached.
        reason: String,
    },
}

impl StoreError {
    /// Wraps an I/O error with what the store was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// A malformed-input error for `format`.
    pub fn malformed(format: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            format,
            reason: reason.into(),
        }
    }

    /// An invalid-argument error.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            reason: reason.into(),
        }
    }
}
