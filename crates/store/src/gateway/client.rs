//! A client of any IPFS trustless gateway: single blocks (`?format=raw`) and whole DAGs as CAR streams
//! (`?format=car`), every block verified against its CID before it is kept. The CAR's roots are ignored and the
//! DAG is checked complete, as the spec tells clients to. [`GatewayClient`] is also a read-only
//! [`BlockStore`].

use std::collections::HashSet;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::StatusCode;

use super::traverse::{ByteRange, DagScope};
use super::{CAR_MEDIA_TYPE, RAW_MEDIA_TYPE};
use crate::block::{Block, MAX_BLOCK_SIZE};
use crate::cid::{Cid, CidExt};
use crate::dagpb::links_of;
use crate::error::{StoreError, StoreResult};
use crate::http::{self, HttpClient};
use crate::store::{BlockStore, BoxFuture};

/// The largest CAR header accepted.
const MAX_HEADER: u64 = 64 * 1024;

/// What a CAR fetch brought in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Blocks received and verified.
    pub blocks: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// A trustless gateway at one base URL (the part before `/ipfs/`).
#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base: String,
}

impl GatewayClient {
    /// A client of the gateway at `base`, for example `http://127.0.0.1:8080` or `https://trustless-gateway.link`,
    /// trusting the system's CA certificates (see [`GatewayClient::with_http`] for others).
    pub fn new(base: impl AsRef<str>) -> Self {
        Self {
            http: HttpClient::default().inner().clone(),
            base: base.as_ref().trim_end_matches('/').to_owned(),
        }
    }

    /// Uses `http` for every request: for example one from [`crate::http::HttpConfig`] that trusts a private CA.
    pub fn with_http(mut self, http: &HttpClient) -> Self {
        self.http = http.inner().clone();
        self
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One block, verified against `cid`.
    pub async fn block(&self, cid: &Cid) -> StoreResult<Bytes> {
        cid.supported()?;
        let response = self
            .http
            .get(format!("{}/ipfs/{cid}?format=raw", self.base))
            .header(reqwest::header::ACCEPT, RAW_MEDIA_TYPE)
            .send()
            .await
            .map_err(|e| {
                self.remote(format!("cannot reach the gateway: {}", http::describe(&e)))
            })?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound { cid: *cid });
        }
        let response = self.check(response).await?;
        let data = response
            .bytes()
            .await
            .map_err(|e| self.remote(format!("reading block {cid}: {e}")))?;
        cid.verify(&data)?;
        Ok(data)
    }

    /// Whether the gateway has the block (a `HEAD` request).
    pub async fn has_block(&self, cid: &Cid) -> StoreResult<bool> {
        let response = self
            .http
            .head(format!("{}/ipfs/{cid}?format=raw", self.base))
            .header(reqwest::header::ACCEPT, RAW_MEDIA_TYPE)
            .send()
            .await
            .map_err(|e| {
                self.remote(format!("cannot reach the gateway: {}", http::describe(&e)))
            })?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(self
                .check(response)
                .await
                .err()
                .unwrap_or_else(|| self.remote("unexpected answer".into()))),
        }
    }

    /// Fetches the whole DAG under `root` as one CAR stream into `sink`, verifying every block and checking the
    /// DAG is complete.
    pub async fn fetch_dag(
        &self,
        root: &Cid,
        sink: &(impl BlockStore + ?Sized),
    ) -> StoreResult<FetchStats> {
        self.fetch_car(root, "", DagScope::All, None, sink).await
    }

    /// Fetches `/ipfs/{root}{path}?format=car` with `scope` (and `range`, for `dag-scope=entity`) into `sink`.
    /// Every block is verified; with [`DagScope::All`] and no path every link must have arrived too.
    pub async fn fetch_car(
        &self,
        root: &Cid,
        path: &str,
        scope: DagScope,
        range: Option<ByteRange>,
        sink: &(impl BlockStore + ?Sized),
    ) -> StoreResult<FetchStats> {
        let mut url = format!(
            "{}/ipfs/{root}{path}?format=car&dag-scope={}",
            self.base,
            scope.as_str()
        );
        if let Some(range) = range {
            url.push_str(&format!("&entity-bytes={range}"));
        }
        let response = self
            .http
            .get(&url)
            .header(
                reqwest::header::ACCEPT,
                format!("{CAR_MEDIA_TYPE}; version=1; order=dfs; dups=n"),
            )
            .send()
            .await
            .map_err(|e| {
                self.remote(format!("cannot reach the gateway: {}", http::describe(&e)))
            })?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound { cid: *root });
        }
        let response = self.check(response).await?;
        let mut body = response.bytes_stream();
        let mut buffer = BytesMut::new();
        let mut header_done = false;
        let mut stats = FetchStats::default();
        let mut received = HashSet::new();
        let mut needed = HashSet::new();
        let mut ended = false;
        loop {
            // Parse whatever whole items the buffer holds.
            while let Some((len, used)) = peek_varint(&buffer)? {
                if !header_done {
                    if len > MAX_HEADER {
                        return Err(self.remote(format!("CAR header of {len} bytes is too large")));
                    }
                } else if len > (MAX_BLOCK_SIZE + 64) as u64 {
                    return Err(StoreError::BlockTooLarge {
                        size: len as usize,
                        limit: MAX_BLOCK_SIZE,
                    });
                }
                if buffer.len() < used + len as usize {
                    break;
                }
                buffer.advance(used);
                let item = buffer.split_to(len as usize).freeze();
                if !header_done {
                    header_done = true;
                    continue;
                }
                let (cid, cid_len) = crate::cid::decode_prefix(&item)?;
                // We ask for depth-first order, so every block after the root is linked from one before it;
                // anything else is not part of what we asked for and never reaches the store.
                let expected = if received.is_empty() {
                    cid == *root
                } else {
                    needed.contains(&cid)
                };
                if !expected {
                    return Err(self.remote(format!(
                        "the CAR for {root} holds block {cid}, which no block before it links to: it is not \
                         part of the requested DAG (or not in depth-first order); nothing after it was kept"
                    )));
                }
                let block = Block::new(cid, item.slice(cid_len..))?;
                for link in links_of(&cid, block.data())? {
                    needed.insert(link);
                }
                stats.blocks += 1;
                stats.bytes += block.data().len() as u64;
                received.insert(cid);
                sink.put(block).await?;
            }
            if ended {
                break;
            }
            match body.next().await {
                Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(self.remote(format!("the CAR stream broke off: {e}"))),
                None => ended = true,
            }
        }
        if !buffer.is_empty() {
            return Err(StoreError::malformed(
                "CAR",
                format!("truncated: {} bytes after the last block", buffer.len()),
            ));
        }
        if !header_done {
            return Err(StoreError::malformed("CAR", "empty response, no header"));
        }
        if path.is_empty() && !received.contains(root) {
            return Err(self.remote(format!("the CAR for {root} does not contain {root} itself")));
        }
        if scope == DagScope::All
            && path.is_empty()
            && let Some(missing) = needed.iter().find(|c| !received.contains(*c))
        {
            return Err(self.remote(format!(
                "the CAR for {root} is incomplete: block {missing} is linked but was not sent"
            )));
        }
        Ok(stats)
    }

    async fn check(&self, response: reqwest::Response) -> StoreResult<reqwest::Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(self.remote(format!("HTTP {status}: {}", body.trim())))
    }

    fn remote(&self, reason: String) -> StoreError {
        StoreError::Remote {
            backend: format!("gateway {}", self.base),
            reason,
        }
    }
}

/// A varint at the front of `buffer`: `Some((value, bytes used))`, `None` if more bytes are needed.
fn peek_varint(buffer: &[u8]) -> StoreResult<Option<(u64, usize)>> {
    let complete = buffer.iter().take(9).any(|b| b & 0x80 == 0);
    if !complete && buffer.len() < 9 {
        return Ok(None);
    }
    crate::varint::read(buffer, "CAR").map(Some)
}

impl BlockStore for GatewayClient {
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>> {
        Box::pin(self.block(cid))
    }

    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            Err(StoreError::invalid(format!(
                "cannot store {}: a trustless gateway is read-only; put blocks into a local store or a Kubo node",
                block.cid()
            )))
        })
    }

    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(self.has_block(cid))
    }

    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            Err(StoreError::invalid(format!(
                "cannot delete {cid}: a trustless gateway is read-only"
            )))
        })
    }
}
