//! What the discussion routes answer: threads of signed comments, and what a posted comment or hide decision
//! did. The signed documents themselves (what a client posts) are scal3ml-discuss's, with their EIP-712 types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The owner's latest decision on a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HideInfo {
    /// The CID of the signed decision (a raw block of the signed hide decision as JSON).
    pub cid: String,
    /// Who signed it (the asset's owner then).
    pub owner: String,
    /// When it was signed, Unix seconds.
    pub created_at: u64,
    /// The owner's signature.
    pub signature: String,
}

/// One comment with its replies, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommentNode {
    /// The comment's id: the CID of its signed document (a raw block; fetch it at `/ipfs/{cid}`).
    pub cid: String,
    /// The asset.
    pub asset: u64,
    /// The proposal, or 0 for the asset itself.
    pub proposal: u64,
    /// The comment it replies to, or "".
    pub parent: String,
    /// Who wrote and signed it.
    pub author: String,
    /// When it was written, Unix seconds.
    pub created_at: u64,
    /// Markdown, as signed (still present when hidden, so anyone can verify the signature).
    pub body: String,
    /// The author's EIP-712 signature.
    pub signature: String,
    /// Whether the asset's owner hid it.
    pub hidden: bool,
    /// The owner's latest decision (hide, or show again), if any.
    pub hide: Option<HideInfo>,
    /// Replies, oldest first.
    #[schema(no_recursion)]
    pub replies: Vec<CommentNode>,
}

/// The comments on an asset or on one of its proposals, as threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Thread {
    /// The asset.
    pub asset: u64,
    /// The proposal, or 0 for the asset itself.
    pub proposal: u64,
    /// Comments in all threads, replies included.
    pub count: u64,
    /// Top-level comments, oldest first, each with its replies.
    pub comments: Vec<CommentNode>,
}

/// The answer to a posted comment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Posted {
    /// The comment's id: the CID of its stored document.
    pub cid: String,
    /// false when the node already had this very document (posting it again changes nothing).
    pub new: bool,
}

/// The answer to a hide decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HideResult {
    /// The comment.
    pub comment: String,
    /// Whether it is hidden now.
    pub hidden: bool,
    /// The CID of the stored decision.
    pub hide_cid: String,
}
