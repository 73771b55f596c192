//! scal3ml-api: the node's HTTP contract. The wire types of every `/api` and `/access` route (requests,
//! answers, status enums), the one error body ([`ApiErrorBody`]), their OpenAPI schemas, and [`NodeApi`], a
//! typed client. The node answers with these types, the catalog maps its rows into them, and every client (the
//! command line, the tests, the Python package) calls [`NodeApi`] instead of formatting paths.
//!
//! With the `axum` feature, [`ApiError`] is an axum response and [`ApiJson`] the JSON body extractor whose
//! rejection is that error.

pub mod access;
mod catalog;
mod client;
mod discuss;
mod error;
#[cfg(feature = "axum")]
mod json;
mod node;
mod tx;

pub use access::{
    DepositReply, KeyQuery, KeyRelease, KeyStatus, NonceReply, SessionReply, SiweLogin,
};
pub use catalog::*;
pub use client::{
    CAR_MEDIA_TYPE, ClientError, ClientResult, LeaderboardQuery, NodeApi, UPLOAD_HEADER,
};
pub use discuss::{CommentNode, HideInfo, HideResult, Posted, Thread};
pub use error::{ApiError, ApiErrorBody, ApiErrorDetail};
#[cfg(feature = "axum")]
pub use json::ApiJson;
pub use node::{NetworkInfo, TokenInfo, UploadResult};
pub use tx::{
    AccessInfo, BuyBody, EarningInfo, PreparedCall, PreparedTx, ProposalBody, ProposeAnswer,
    PublishAnswer, ToSign, VoteBody, WithdrawBody,
};
