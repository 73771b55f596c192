//! Transport: JSON-RPC 2.0 over HTTP (single calls and batches) and WebSocket (the same, plus eth_subscribe for
//! newHeads, logs and newPendingTransactions), both on one port. Limits: the request body (HTTP) and message
//! (WebSocket) size is capped at `max_body_bytes` (HTTP answers 413), a batch at `max_batch` calls (answered by
//! one -32600 error).

use std::{collections::HashMap, sync::Arc};

use alloy::rpc::types::Filter;
use axum::{
    Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{error::DevnetError, request::DevnetRequest, rpc::Node};

/// Shared server state.
#[derive(Clone)]
pub(crate) struct ServerState {
    pub(crate) node: Arc<Node>,
    pub(crate) max_batch: usize,
    pub(crate) max_body: usize,
}

/// The router serving JSON-RPC on `/`.
pub(crate) fn router(state: ServerState) -> Router {
    let limit = state.max_body;
    Router::new()
        .route("/", post(http_rpc).get(ws_upgrade))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

fn error_response(id: Value, err: &DevnetError) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": err.to_rpc() })
}

/// Answers one call object (already parsed), or `None` for a notification-free... every call gets an answer.
fn answer_call(node: &Node, call: &Value) -> Value {
    let Some(obj) = call.as_object() else {
        return error_response(
            Value::Null,
            &DevnetError::InvalidRequest("a call must be a JSON object".into()),
        );
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::Number(_) | Value::String(_)) {
        return error_response(
            Value::Null,
            &DevnetError::InvalidRequest("id must be a number, string or null".into()),
        );
    }
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return error_response(
            id,
            &DevnetError::InvalidRequest("missing \"method\" string".into()),
        );
    };
    let params = match obj.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return error_response(
                id,
                &DevnetError::InvalidParams(
                    "params must be an array of positional arguments".into(),
                ),
            );
        }
    };
    let started = std::time::Instant::now();
    match DevnetRequest::parse(method, &params).and_then(|request| node.handle(request)) {
        Ok(result) => {
            tracing::debug!(target: "devnet::rpc", method, elapsed = ?started.elapsed(), "ok");
            json!({ "jsonrpc": "2.0", "id": id, "result": result })
        }
        Err(err) => {
            tracing::debug!(target: "devnet::rpc", method, %err, "error");
            error_response(id, &err)
        }
    }
}

/// Answers a request body: a call or a batch.
pub(crate) fn answer(node: &Node, max_batch: usize, body: &[u8]) -> Value {
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return error_response(Value::Null, &DevnetError::Parse(e.to_string())),
    };
    match request {
        Value::Array(calls) if calls.is_empty() => error_response(
            Value::Null,
            &DevnetError::InvalidRequest("empty batch".into()),
        ),
        Value::Array(calls) if calls.len() > max_batch => error_response(
            Value::Null,
            &DevnetError::InvalidRequest(format!(
                "batch of {} calls is larger than the limit of {max_batch}; split it",
                calls.len()
            )),
        ),
        Value::Array(calls) => Value::Array(calls.iter().map(|c| answer_call(node, c)).collect()),
        call => answer_call(node, &call),
    }
}

/// Whether a request only reads a little state, so it can be answered on the I/O thread without the hop to a
/// blocking thread (mining, fsync, EVM execution and log scans take the hop).
fn is_quick(body: &[u8]) -> bool {
    const SLOW: [&[u8]; 8] = [
        b"eth_send",
        b"evm_",
        b"anvil_",
        b"hardhat_",
        b"eth_estimateGas",
        b"eth_call",
        b"eth_getLogs",
        b"eth_getFilter",
    ];
    body.len() <= 4096 && !SLOW.iter().any(|m| body.windows(m.len()).any(|w| w == *m))
}

async fn http_rpc(State(state): State<ServerState>, body: Bytes) -> Response {
    let node = state.node.clone();
    let answer = if is_quick(&body) {
        Ok(answer(&node, state.max_batch, &body))
    } else {
        tokio::task::spawn_blocking(move || answer(&node, state.max_batch, &body)).await
    };
    match answer {
        Ok(value) => {
            let mut response = serde_json::to_vec(&value)
                .unwrap_or_default()
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn ws_upgrade(
    State(state): State<ServerState>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => {
            let max = state.max_body;
            upgrade
                .max_message_size(max)
                .on_upgrade(move |socket| ws_session(socket, state))
                .into_response()
        }
        Err(_) => (
            StatusCode::METHOD_NOT_ALLOWED,
            "send JSON-RPC with POST, or open a WebSocket",
        )
            .into_response(),
    }
}

enum SubKind {
    Heads,
    Logs(Box<Filter>),
    PendingTransactions,
}

async fn ws_session(socket: WebSocket, state: ServerState) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
    });
    let mut subs: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut next_sub = 1u64;
    while let Some(Ok(message)) = stream.next().await {
        let text = match message {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => break,
            _ => continue,
        };
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let method = parsed
            .as_ref()
            .and_then(|v| v.get("method"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let reply = match method {
            "eth_subscribe" => {
                let call = parsed.as_ref().expect("method found");
                let id = call.get("id").cloned().unwrap_or(Value::Null);
                let params = call
                    .get("params")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let kind = match params.first().and_then(Value::as_str) {
                    Some("newHeads") => Ok(SubKind::Heads),
                    Some("newPendingTransactions") => Ok(SubKind::PendingTransactions),
                    Some("logs") => serde_json::from_value::<Filter>(
                        params.get(1).cloned().unwrap_or(json!({})),
                    )
                    .map(|f| SubKind::Logs(Box::new(f)))
                    .map_err(|e| {
                        DevnetError::InvalidParams(format!("argument 2 (filter) is malformed: {e}"))
                    }),
                    other => Err(DevnetError::InvalidParams(format!(
                        "unknown subscription {other:?}; use newHeads, logs or newPendingTransactions"
                    ))),
                };
                match kind {
                    Ok(kind) => {
                        let sub_id = format!("{next_sub:#x}");
                        next_sub += 1;
                        let task = spawn_subscription(
                            state.node.clone(),
                            kind,
                            sub_id.clone(),
                            tx.clone(),
                        );
                        subs.insert(sub_id.clone(), task);
                        json!({ "jsonrpc": "2.0", "id": id, "result": sub_id })
                    }
                    Err(err) => error_response(id, &err),
                }
            }
            "eth_unsubscribe" => {
                let call = parsed.as_ref().expect("method found");
                let id = call.get("id").cloned().unwrap_or(Value::Null);
                let sub = call
                    .get("params")
                    .and_then(|p| p.get(0))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let removed = subs.remove(sub).map(|t| t.abort()).is_some();
                json!({ "jsonrpc": "2.0", "id": id, "result": removed })
            }
            _ => {
                let node = state.node.clone();
                let max_batch = state.max_batch;
                match tokio::task::spawn_blocking(move || answer(&node, max_batch, text.as_bytes()))
                    .await
                {
                    Ok(v) => v,
                    Err(_) => break,
                }
            }
        };
        if tx.send(reply.to_string()).is_err() {
            break;
        }
    }
    for (_, task) in subs {
        task.abort();
    }
    drop(tx);
    let _ = writer.await;
}

fn spawn_subscription(
    node: Arc<Node>,
    kind: SubKind,
    id: String,
    out: mpsc::UnboundedSender<String>,
) -> tokio::task::JoinHandle<()> {
    if let SubKind::PendingTransactions = kind {
        let mut pending = node.subscribe_pending();
        return tokio::spawn(async move {
            loop {
                let hash = match pending.recv().await {
                    Ok(h) => h,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                };
                let message = json!({
                    "jsonrpc": "2.0",
                    "method": "eth_subscription",
                    "params": { "subscription": id, "result": hash },
                });
                if out.send(message.to_string()).is_err() {
                    return;
                }
            }
        });
    }
    let mut heads = node.subscribe_heads();
    tokio::spawn(async move {
        loop {
            let number = match heads.recv().await {
                Ok(n) => n,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            let results: Vec<Value> = match &kind {
                SubKind::Heads => node.block_json(number).into_iter().collect(),
                SubKind::Logs(filter) => node.block_logs(number, filter),
                SubKind::PendingTransactions => Vec::new(),
            };
            for result in results {
                let message = json!({
                    "jsonrpc": "2.0",
                    "method": "eth_subscription",
                    "params": { "subscription": id, "result": result },
                });
                if out.send(message.to_string()).is_err() {
                    return;
                }
            }
        }
    })
}
