//! `POST /dev/rpc`: the built-in dev wallet's way to the dev chain (`scal3ml dev` only). It passes JSON-RPC
//! requests, single or batched, to the chain's unlocked test accounts, but only the methods a wallet needs:
//! chain and account reads, sending a transaction, signing a message or typed data, and reading receipts.
//! Anything else (mining, time travel, balances set by hand, raw hash signing) is refused with a JSON-RPC error,
//! so a page cannot use the node as an open door to the chain's test controls. `scal3ml node` never serves it.

use crate::api::AppState;
use alloy::{providers::Provider as _, transports::RpcError};
use axum::{
    Json,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use scal3ml_api::ApiError;
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa_axum::routes;

pub(crate) fn routes() -> crate::api::Routes {
    crate::api::Routes::new().routes(routes!(dev_rpc))
}

/// The methods passed to the chain, as asked and as forwarded (`eth_requestAccounts` is `eth_accounts`: the
/// dev chain's accounts are always unlocked).
const ALLOWED: &[(&str, &str)] = &[
    ("eth_chainId", "eth_chainId"),
    ("net_version", "net_version"),
    ("eth_accounts", "eth_accounts"),
    ("eth_requestAccounts", "eth_accounts"),
    ("eth_blockNumber", "eth_blockNumber"),
    ("eth_getBalance", "eth_getBalance"),
    ("eth_getTransactionCount", "eth_getTransactionCount"),
    ("eth_getCode", "eth_getCode"),
    ("eth_getBlockByNumber", "eth_getBlockByNumber"),
    ("eth_gasPrice", "eth_gasPrice"),
    ("eth_maxPriorityFeePerGas", "eth_maxPriorityFeePerGas"),
    ("eth_feeHistory", "eth_feeHistory"),
    ("eth_call", "eth_call"),
    ("eth_estimateGas", "eth_estimateGas"),
    ("eth_sendTransaction", "eth_sendTransaction"),
    ("eth_getTransactionByHash", "eth_getTransactionByHash"),
    ("eth_getTransactionReceipt", "eth_getTransactionReceipt"),
    ("personal_sign", "personal_sign"),
    ("eth_signTypedData_v4", "eth_signTypedData_v4"),
];

/// JSON-RPC: the method does not exist (here).
const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: not a valid request object.
const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: an internal error (the chain did not answer).
const INTERNAL_ERROR: i64 = -32603;

/// Passes a wallet's JSON-RPC request (or a batch) to the dev chain.
#[utoipa::path(post, path = "/dev/rpc", request_body(content = Object, description = "a JSON-RPC 2.0 request or batch"),
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, description = "the JSON-RPC answer; methods a wallet does not need get error -32601"),
        (status = 403, description = "no CSRF token"), (status = 404, description = "not the dev chain")))]
pub(crate) async fn dev_rpc(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !state.dev_wallet {
        return ApiError::not_found(
            "no_dev_wallet",
            "this node serves no dev wallet: it exists only on `scal3ml dev`, whose chain has public test \
             accounts; connect a wallet of your own (its extension) to this network instead",
        )
        .into_response();
    }
    if let Err(e) = crate::csrf::check(&headers) {
        return e.into_response();
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Json(error(
                Value::Null,
                -32700,
                format!("the body is not JSON: {e}"),
            ))
            .into_response();
        }
    };
    match request {
        Value::Array(batch) => {
            if batch.is_empty() {
                return Json(error(Value::Null, INVALID_REQUEST, "an empty batch".into()))
                    .into_response();
            }
            let mut answers = Vec::with_capacity(batch.len());
            for one in batch {
                answers.push(forward(&state, one).await);
            }
            Json(Value::Array(answers)).into_response()
        }
        one => Json(forward(&state, one).await).into_response(),
    }
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// One request to the chain, if its method is a wallet's.
async fn forward(state: &AppState, request: Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return error(
            id,
            INVALID_REQUEST,
            "a JSON-RPC request needs a \"method\"".into(),
        );
    };
    let Some(&(_, forwarded)) = ALLOWED.iter().find(|(asked, _)| *asked == method) else {
        return error(
            id,
            METHOD_NOT_FOUND,
            format!(
                "/dev/rpc passes only what a wallet needs ({}), not {method}; ask the chain at {} directly",
                ALLOWED
                    .iter()
                    .map(|(m, _)| *m)
                    .collect::<Vec<_>>()
                    .join(", "),
                state.network.rpc_url
            ),
        );
    };
    let params = match request.get("params") {
        None | Some(Value::Null) => json!([]),
        Some(p @ (Value::Array(_) | Value::Object(_))) => p.clone(),
        Some(_) => {
            return error(
                id,
                INVALID_REQUEST,
                "\"params\" must be an array or an object".into(),
            );
        }
    };
    let answer: Result<Value, _> = state
        .market
        .provider()
        .raw_request(forwarded.into(), params)
        .await;
    match answer {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(RpcError::ErrorResp(e)) => {
            let mut err = json!({"code": e.code, "message": e.message});
            if let Some(data) = &e.data
                && let Ok(data) = serde_json::from_str::<Value>(data.get())
            {
                err["data"] = data;
            }
            json!({"jsonrpc": "2.0", "id": id, "error": err})
        }
        Err(e) => error(
            id,
            INTERNAL_ERROR,
            format!("the dev chain did not answer {method}: {e}"),
        ),
    }
}
