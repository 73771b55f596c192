//! The trustless gateway server: an axum [`Router`] over any [`BlockStore`] answering `GET`/`HEAD
//! /ipfs/{cid}[/path]` with `?format=raw` (or `Accept: application/vnd.ipld.raw`) and `?format=car` (or `Accept:
//! application/vnd.ipld.car`), honouring `dag-scope`, `entity-bytes`, `car-version`, `car-order` and `car-dups`.
//!
//! CAR responses stream: blocks are read from the store one at a time while the body is written. A missing
//! terminal block is a 404 before anything is sent; a block that goes missing mid-stream aborts the body, which
//! clients detect because a trustless client must check the CAR is complete.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

use super::traverse::{ByteRange, DagScope, resolve};
use super::{CAR_MEDIA_TYPE, RAW_MEDIA_TYPE};
use crate::cid::Cid;
use crate::error::StoreError;
use crate::store::BlockStore;

struct GatewayState {
    store: Arc<dyn BlockStore>,
}

/// The trustless gateway routes (`/ipfs/{cid}` and `/ipfs/{cid}/{*path}`) over `store`.
pub fn router(store: Arc<dyn BlockStore>) -> Router {
    let state = Arc::new(GatewayState { store });
    Router::new()
        .route("/ipfs/{cid}", get(serve_root).head(serve_root))
        .route("/ipfs/{cid}/{*path}", get(serve_path).head(serve_path))
        .with_state(state)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Raw,
    Car,
}

/// What a request asks for, after reading the query and the Accept header.
#[derive(Debug)]
struct Request {
    format: Format,
    scope: DagScope,
    range: Option<ByteRange>,
}

/// An error answered as plain text with the right status.
#[derive(Debug)]
struct GatewayError {
    status: StatusCode,
    message: String,
}

impl GatewayError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<StoreError> for GatewayError {
    fn from(error: StoreError) -> Self {
        let status = match &error {
            StoreError::NotFound { .. } | StoreError::NoSuchEntry { .. } => StatusCode::NOT_FOUND,
            StoreError::InvalidCid { .. }
            | StoreError::InvalidArgument { .. }
            | StoreError::UnsupportedCodec { .. }
            | StoreError::UnsupportedHash { .. }
            | StoreError::WrongKind { .. } => StatusCode::BAD_REQUEST,
            StoreError::Remote { .. } => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, error.to_string())
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

fn parse_request(query: Option<&str>, headers: &HeaderMap) -> Result<Request, GatewayError> {
    let bad = |m: String| GatewayError::new(StatusCode::BAD_REQUEST, m);
    let mut format = None;
    let mut scope = DagScope::All;
    let mut range = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "format" => {
                format = Some(match value.as_ref() {
                    "raw" => Format::Raw,
                    "car" => Format::Car,
                    other => {
                        return Err(bad(format!(
                            "format={other} is not served here: use format=raw or format=car"
                        )));
                    }
                })
            }
            "dag-scope" => scope = value.parse()?,
            "entity-bytes" => range = Some(value.parse::<ByteRange>()?),
            "car-version" if value != "1" => {
                return Err(bad(format!(
                    "car-version={value}: only CAR version 1 is served"
                )));
            }
            _ => {}
        }
    }
    if format.is_none() {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for item in accept.split(',') {
            let mut params = item.split(';').map(str::trim);
            let media = params.next().unwrap_or("");
            if media == RAW_MEDIA_TYPE {
                format = Some(Format::Raw);
                break;
            }
            if media == CAR_MEDIA_TYPE {
                if params.any(|p| p.starts_with("version=") && p != "version=1") {
                    continue;
                }
                format = Some(Format::Car);
                break;
            }
        }
    }
    let Some(format) = format else {
        return Err(GatewayError::new(
            StatusCode::NOT_ACCEPTABLE,
            "this is a trustless gateway: ask for ?format=raw or ?format=car (or Accept: application/vnd.ipld.raw / \
             application/vnd.ipld.car)",
        ));
    };
    if range.is_some() && scope != DagScope::Entity {
        return Err(bad("entity-bytes needs dag-scope=entity".into()));
    }
    Ok(Request {
        format,
        scope,
        range,
    })
}

async fn serve_root(
    State(state): State<Arc<GatewayState>>,
    method: Method,
    Path(cid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(state, method, cid, String::new(), query, headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn serve_path(
    State(state): State<Arc<GatewayState>>,
    method: Method,
    Path((cid, path)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    serve(state, method, cid, path, query, headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn serve(
    state: Arc<GatewayState>,
    method: Method,
    cid_text: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
) -> Result<Response, GatewayError> {
    let request = parse_request(query.as_deref(), &headers)?;
    let root = crate::cid::parse(&cid_text)?;
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let ipfs_path = if segments.is_empty() {
        format!("/ipfs/{root}")
    } else {
        format!("/ipfs/{root}/{}", segments.join("/"))
    };
    match request.format {
        Format::Raw => {
            let resolved =
                resolve(state.store.as_ref(), root, &segments, DagScope::Block, None).await?;
            let data = state.store.get(&resolved.cid).await?;
            let etag = format!("\"{}.raw\"", resolved.cid);
            if not_modified(&headers, &etag) {
                return Ok(with_common(
                    StatusCode::NOT_MODIFIED.into_response(),
                    &etag,
                    &ipfs_path,
                ));
            }
            let mut response = if method == Method::HEAD {
                let mut r = Response::new(Body::empty());
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
                r
            } else {
                Response::new(Body::from(data))
            };
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(RAW_MEDIA_TYPE),
            );
            if let Ok(v) =
                HeaderValue::from_str(&format!("attachment; filename=\"{}.bin\"", resolved.cid))
            {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(with_common(response, &etag, &ipfs_path))
        }
        Format::Car => {
            let resolved = resolve(
                state.store.as_ref(),
                root,
                &segments,
                request.scope,
                request.range,
            )
            .await?;
            let etag = format!(
                "\"{}.car.{}.{}\"",
                resolved.cid,
                request.scope.as_str(),
                request.range.map(|r| r.to_string()).unwrap_or_default()
            );
            if not_modified(&headers, &etag) {
                return Ok(with_common(
                    StatusCode::NOT_MODIFIED.into_response(),
                    &etag,
                    &ipfs_path,
                ));
            }
            let mut response = if method == Method::HEAD {
                Response::new(Body::empty())
            } else {
                let header_bytes = Bytes::from(crate::car::encode_header(&[root]));
                let store = Arc::clone(&state.store);
                let walk = resolved.walk;
                let stream = futures_util::stream::unfold(
                    (Some(header_bytes), walk, store, false),
                    |(header, mut walk, store, done)| async move {
                        if done {
                            return None;
                        }
                        if let Some(header) = header {
                            return Some((Ok(header), (None, walk, store, false)));
                        }
                        match walk.next(store.as_ref()).await {
                            Ok(Some(block)) => {
                                let section = car_section(block.cid(), block.data());
                                Some((Ok(Bytes::from(section)), (None, walk, store, false)))
                            }
                            Ok(None) => None,
                            Err(e) => {
                                tracing::warn!(target: "store::gateway", error = %e, "CAR stream aborted");
                                Some((
                                    Err(std::io::Error::other(e.to_string())),
                                    (None, walk, store, true),
                                ))
                            }
                        }
                    },
                );
                Response::new(Body::from_stream(stream))
            };
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.ipld.car; version=1; order=dfs; dups=n"),
            );
            if let Ok(v) =
                HeaderValue::from_str(&format!("attachment; filename=\"{}.car\"", resolved.cid))
            {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(with_common(response, &etag, &ipfs_path))
        }
    }
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

fn with_common(mut response: Response, etag: &str, ipfs_path: &str) -> Response {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=29030400, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(ipfs_path) {
        h.insert("x-ipfs-path", v);
    }
    response
}

/// One CAR section: varint(len(cid) + len(data)), cid, data.
pub(crate) fn car_section(cid: &Cid, data: &[u8]) -> Vec<u8> {
    let cid_bytes = cid.to_bytes();
    let mut out = Vec::with_capacity(cid_bytes.len() + data.len() + 10);
    crate::varint::write(&mut out, (cid_bytes.len() + data.len()) as u64);
    out.extend_from_slice(&cid_bytes);
    out.extend_from_slice(data);
    out
}
