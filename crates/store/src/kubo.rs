//! A backend over a Kubo node's RPC API (`/api/v0`, POST only): add, cat, block get/put/stat, dag import, pin add,
//! id. What Kubo answers is checked: every block fetched is verified against its CID, and the CIDs Kubo reports
//! for what we sent are compared with the ones we computed.
//!
//! Point it at the node's API address (`http://127.0.0.1:5001` by default in Kubo). If the node requires
//! `API.Authorizations`, give the header value with [`KuboClient::with_authorization`].

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use crate::block::Block;
use crate::cid::{Cid, CidExt};
use crate::error::{StoreError, StoreResult};
use crate::http::{self, HttpClient};
use crate::store::{BlockStore, BoxFuture};

/// Options of `ipfs add`, in Kubo's names. The default is Kubo's default (CIDv0, 256 KiB chunks, pinned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOptions {
    /// 0 or 1; 1 turns raw leaves on unless `raw_leaves` says otherwise.
    pub cid_version: u8,
    /// Leaves as raw blocks; `None` leaves Kubo's default for the CID version.
    pub raw_leaves: Option<bool>,
    /// Kubo chunker spec, e.g. `size-262144`.
    pub chunker: String,
    /// Pin the result recursively.
    pub pin: bool,
    /// Only compute the CID; store nothing.
    pub only_hash: bool,
    /// Wrap the file in a directory (the last line is then the directory).
    pub wrap_with_directory: bool,
}

impl Default for AddOptions {
    fn default() -> Self {
        Self {
            cid_version: 0,
            raw_leaves: None,
            chunker: "size-262144".into(),
            pin: true,
            only_hash: false,
            wrap_with_directory: false,
        }
    }
}

impl AddOptions {
    /// CIDv1 with raw leaves, as `ipfs add --cid-version=1`.
    pub fn v1() -> Self {
        Self {
            cid_version: 1,
            ..Self::default()
        }
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("cid-version", self.cid_version.to_string()),
            ("chunker", self.chunker.clone()),
            ("pin", self.pin.to_string()),
            ("only-hash", self.only_hash.to_string()),
            ("wrap-with-directory", self.wrap_with_directory.to_string()),
            ("progress", "false".into()),
        ];
        if self.cid_version == 1 {
            // CIDv1 as base32 text ("bafy..."), which js-ipfs does not default to.
            pairs.push(("cid-base", "base32".into()));
        }
        if let Some(raw) = self.raw_leaves {
            pairs.push(("raw-leaves", raw.to_string()));
        }
        pairs
    }
}

/// One line of `add`'s answer: a file or directory Kubo added.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Added {
    /// The name given (the file name, or "" for a wrapping directory).
    #[serde(rename = "Name")]
    pub name: String,
    /// Its root CID as text.
    #[serde(rename = "Hash")]
    pub hash: String,
    /// The DAG's cumulative size as text (Kubo sends a string, js-ipfs a number).
    #[serde(rename = "Size", default, deserialize_with = "string_or_number")]
    pub size: String,
}

/// `id`'s answer: who the node is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NodeId {
    /// The peer id.
    #[serde(rename = "ID")]
    pub id: String,
    /// The node's public key, base64 protobuf.
    #[serde(rename = "PublicKey", default)]
    pub public_key: String,
    /// The multiaddrs it listens on.
    #[serde(rename = "Addresses", default)]
    pub addresses: Option<Vec<String>>,
    /// "kubo/0.x.y/..." or another implementation's name.
    #[serde(rename = "AgentVersion", default)]
    pub agent_version: String,
    /// The libp2p protocols it speaks.
    #[serde(rename = "Protocols", default)]
    pub protocols: Option<Vec<String>>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

#[derive(Deserialize)]
struct KuboErrorBody {
    #[serde(rename = "Message")]
    message: String,
}

#[derive(Deserialize)]
struct BlockStat {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Size")]
    size: u64,
}

#[derive(Deserialize)]
struct PinAdd {
    #[serde(rename = "Pins", default)]
    pins: Vec<String>,
}

#[derive(Deserialize)]
struct ImportLine {
    #[serde(rename = "Root")]
    root: Option<ImportRoot>,
}

#[derive(Deserialize)]
struct ImportRoot {
    #[serde(rename = "Cid")]
    cid: CidLink,
    #[serde(rename = "PinErrorMsg", default)]
    pin_error: String,
}

#[derive(Deserialize)]
struct CidLink {
    #[serde(rename = "/")]
    cid: String,
}

/// A Kubo RPC client.
#[derive(Debug, Clone)]
pub struct KuboClient {
    http: reqwest::Client,
    api: String,
    authorization: Option<String>,
    offline_reads: bool,
    read_timeout: Duration,
}

impl KuboClient {
    /// A client of the node whose RPC API is at `api` (for example `http://127.0.0.1:5001`).
    pub fn new(api: impl Into<String>) -> Self {
        let api = api
            .into()
            .trim_end_matches('/')
            .trim_end_matches("/api/v0")
            .to_owned();
        Self {
            http: HttpClient::default().inner().clone(),
            api,
            authorization: None,
            offline_reads: true,
            read_timeout: Duration::from_secs(10),
        }
    }

    /// Uses `http` for every call: for example one from [`crate::http::HttpConfig`] that trusts a private CA (a
    /// node behind a TLS proxy).
    pub fn with_http(mut self, http: &HttpClient) -> Self {
        self.http = http.inner().clone();
        self
    }

    /// Sends this `Authorization` header value with every call (`Basic ...` or `Bearer ...`).
    pub fn with_authorization(mut self, value: impl Into<String>) -> Self {
        self.authorization = Some(value.into());
        self
    }

    /// Lets block reads ask the IPFS network for blocks the node lacks (by default reads are local only, so a
    /// missing block is reported at once instead of waiting on the network).
    pub fn with_network_reads(mut self, network: bool) -> Self {
        self.offline_reads = !network;
        self
    }

    /// How long a block read may wait before a missing block is reported as not found (default 10 s). Kubo
    /// answers at once for local-only reads; implementations that ignore `offline` (js-ipfs) wait this long.
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The API base URL.
    pub fn api(&self) -> &str {
        &self.api
    }

    /// Adds one file's bytes (`ipfs add`); returns every line of Kubo's answer, the root last.
    pub async fn add_bytes(
        &self,
        name: &str,
        data: Vec<u8>,
        options: &AddOptions,
    ) -> StoreResult<Vec<Added>> {
        let part = octet_stream(Part::bytes(data).file_name(name.to_owned()));
        self.add_part(part, options).await
    }

    /// Adds a file from disk, streaming it (`ipfs add PATH`); returns every line of the answer, the root last.
    pub async fn add_file(&self, path: &Path, options: &AddOptions) -> StoreResult<Vec<Added>> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| StoreError::io(format!("open {}", path.display()), e))?;
        let len = file
            .metadata()
            .await
            .map_err(|e| StoreError::io(format!("stat {}", path.display()), e))?
            .len();
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let part = octet_stream(
            Part::stream_with_length(reqwest::Body::wrap_stream(stream), len).file_name(name),
        );
        self.add_part(part, options).await
    }

    async fn add_part(&self, part: Part, options: &AddOptions) -> StoreResult<Vec<Added>> {
        let form = Form::new().part("file", part);
        let body = self.call("add", &options.query(), Some(form)).await?;
        let lines = ndjson::<Added>(&body)
            .map_err(|e| self.remote(format!("add: unexpected answer: {e}")))?;
        if lines.is_empty() {
            return Err(self.remote("add: the node answered with no CID".into()));
        }
        Ok(lines)
    }

    /// The bytes of a UnixFS file (`ipfs cat`), optionally a range of them.
    pub async fn cat(
        &self,
        cid: &Cid,
        offset: Option<u64>,
        length: Option<u64>,
    ) -> StoreResult<Bytes> {
        let mut query = vec![("arg", cid.to_string())];
        if let Some(offset) = offset {
            query.push(("offset", offset.to_string()));
        }
        if let Some(length) = length {
            query.push(("length", length.to_string()));
        }
        self.call("cat", &query, None).await
    }

    /// One block, verified against `cid` (`ipfs block get`).
    pub async fn block_get(&self, cid: &Cid) -> StoreResult<Bytes> {
        cid.supported()?;
        let query = self.read_query(cid);
        let data = self
            .call("block/get", &query, None)
            .await
            .map_err(|e| not_found_as(e, cid))?;
        cid.verify(&data)?;
        Ok(data)
    }

    /// The size of one block, or `None` if the node does not have it (`ipfs block stat`, local only).
    pub async fn block_stat(&self, cid: &Cid) -> StoreResult<Option<u64>> {
        let query = vec![
            ("arg", cid.to_string()),
            ("offline", "true".into()),
            ("timeout", format!("{}ms", self.read_timeout.as_millis())),
        ];
        match self.call("block/stat", &query, None).await {
            Ok(body) => {
                let stat: BlockStat = serde_json::from_slice(&body)
                    .map_err(|e| self.remote(format!("block/stat: unexpected answer: {e}")))?;
                Ok(Some(stat.size))
            }
            Err(e) => match not_found_as(e, cid) {
                StoreError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Stores one block under the codec of `cid` (`ipfs block put`) and checks Kubo computed the same CID.
    pub async fn block_put(&self, cid: &Cid, data: Vec<u8>) -> StoreResult<()> {
        cid.verify(&data)?;
        let mut query = vec![
            ("cid-codec", cid.codec().to_string()),
            // js-ipfs names the codec `format` and needs the version; Kubo reads `cid-codec`.
            ("format", cid.codec().to_string()),
            ("cid-version", cid.version().to_string()),
            ("mhtype", "sha2-256".to_owned()),
            ("mhlen", "32".to_owned()),
            ("pin", "false".to_owned()),
        ];
        if cid.version() == 1 {
            query.push(("cid-base", "base32".to_owned()));
        }
        let form = Form::new().part("data", octet_stream(Part::bytes(data).file_name("block")));
        let body = self.call("block/put", &query, Some(form)).await?;
        let stat: BlockStat = serde_json::from_slice(&body)
            .map_err(|e| self.remote(format!("block/put: unexpected answer: {e}")))?;
        let got = crate::cid::parse(&stat.key)?;
        if got.to_v1() != cid.to_v1() {
            return Err(self.remote(format!(
                "block/put stored the block as {got}, expected {cid}"
            )));
        }
        Ok(())
    }

    /// Imports a CAR v1 (`ipfs dag import`), pinning its roots if `pin_roots`; returns the roots Kubo reports.
    pub async fn dag_import(&self, car: Vec<u8>, pin_roots: bool) -> StoreResult<Vec<Cid>> {
        let query = vec![("pin-roots", pin_roots.to_string())];
        let form = Form::new().part(
            "file",
            octet_stream(Part::bytes(car).file_name("import.car")),
        );
        let body = self.call("dag/import", &query, Some(form)).await?;
        let lines = ndjson::<ImportLine>(&body)
            .map_err(|e| self.remote(format!("dag/import: unexpected answer: {e}")))?;
        let mut roots = Vec::new();
        for root in lines.into_iter().filter_map(|line| line.root) {
            if !root.pin_error.is_empty() {
                return Err(self.remote(format!(
                    "dag/import could not pin {}: {}",
                    root.cid.cid, root.pin_error
                )));
            }
            roots.push(crate::cid::parse(&root.cid.cid)?);
        }
        Ok(roots)
    }

    /// Pins a DAG (`ipfs pin add`, recursive or direct); returns the pinned CIDs as Kubo reports them.
    pub async fn pin_add(&self, cid: &Cid, recursive: bool) -> StoreResult<Vec<String>> {
        let query = vec![
            ("arg", cid.to_string()),
            ("recursive", recursive.to_string()),
        ];
        let body = self.call("pin/add", &query, None).await?;
        let pins: PinAdd = serde_json::from_slice(&body)
            .map_err(|e| self.remote(format!("pin/add: unexpected answer: {e}")))?;
        Ok(pins.pins)
    }

    /// Who the node is (`ipfs id`).
    pub async fn id(&self) -> StoreResult<NodeId> {
        let body = self.call("id", &[], None).await?;
        serde_json::from_slice(&body)
            .map_err(|e| self.remote(format!("id: unexpected answer: {e}")))
    }

    fn read_query(&self, cid: &Cid) -> Vec<(&'static str, String)> {
        let mut query = vec![("arg", cid.to_string())];
        if self.offline_reads {
            query.push(("offline", "true".into()));
            query.push(("timeout", format!("{}ms", self.read_timeout.as_millis())));
        }
        query
    }

    async fn call(
        &self,
        command: &str,
        query: &[(&str, String)],
        form: Option<Form>,
    ) -> StoreResult<Bytes> {
        let mut request = self
            .http
            .post(format!("{}/api/v0/{command}", self.api))
            .query(query);
        if let Some(auth) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        if let Some(form) = form {
            request = request.multipart(form);
        }
        let response = request.send().await.map_err(|e| {
            self.remote(match http::tls_failure(&e) {
                Some(tls) => format!("{command}: {tls}"),
                None => format!(
                    "{command}: cannot reach the node ({}{}); is the daemon running?",
                    http::error_chain(&e),
                    http::plain_http_hint(&e).unwrap_or_default()
                ),
            })
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.remote(format!("{command}: {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<KuboErrorBody>(&body)
            .map(|e| e.message)
            .unwrap_or_else(|_| {
                String::from_utf8_lossy(&body[..body.len().min(300)])
                    .trim()
                    .to_owned()
            });
        let hint = match status.as_u16() {
            401 | 403 => " (check the API authorization)",
            404 | 405 => " (is this a Kubo RPC API address?)",
            _ => "",
        };
        Err(self.remote(format!("{command}: HTTP {status}{hint}: {message}")))
    }

    fn remote(&self, reason: String) -> StoreError {
        StoreError::Remote {
            backend: format!("kubo {}", self.api),
            reason,
        }
    }
}

/// Kubo says a block is missing in words; map those answers to [`StoreError::NotFound`].
fn not_found_as(error: StoreError, cid: &Cid) -> StoreError {
    match &error {
        StoreError::Remote { reason, .. }
            if reason.contains("not found")
                || reason.contains("could not find")
                || reason.contains("timed out") =>
        {
            StoreError::NotFound { cid: *cid }
        }
        _ => error,
    }
}

/// Labels a multipart part as bytes (js-ipfs refuses parts without a content type).
fn octet_stream(part: Part) -> Part {
    part.mime_str("application/octet-stream")
        .expect("a valid media type")
}

fn ndjson<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, serde_json::Error> {
    body.split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(serde_json::from_slice)
        .collect()
}

impl KuboClient {
    /// Removes a block from the node (`ipfs block rm`); a block that is absent is not an error.
    pub async fn block_rm(&self, cid: &Cid) -> StoreResult<()> {
        let query = vec![("arg", cid.to_string()), ("force", "true".to_owned())];
        match self.call("block/rm", &query, None).await {
            Ok(_) => Ok(()),
            Err(e) => match not_found_as(e, cid) {
                StoreError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}

impl BlockStore for KuboClient {
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>> {
        Box::pin(self.block_get(cid))
    }

    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let (cid, data) = block.into_parts();
            self.block_put(&cid, data.to_vec()).await
        })
    }

    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { Ok(self.block_stat(cid).await?.is_some()) })
    }

    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.block_rm(cid))
    }
}
