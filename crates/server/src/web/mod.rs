//! The web pages: server-rendered HTML over the catalog, the static files (CSS and the wallet module), and the
//! security headers every page carries. See docs/web.md.
//!
//! A handler reads what its page shows in one catalog query (through [`crate::api::query`], so pages and the
//! REST API share the catalog's read connections), turns it into strings in a view struct and renders an askama
//! template from `crates/server/templates/`. Templates escape every value; the only HTML printed as it is comes
//! from [`markdown::render`] (sanitised), [`lineage::svg`] (escaped as it is drawn) and the configuration JSON
//! (escaped for a `<script>` element).

mod asset;
mod assets;
pub(crate) mod changes;
mod dashboard;
pub(crate) mod diff;
mod discussion;
pub(crate) mod format;
mod home;
mod lineage;
mod markdown;
mod proposals;
mod publish;
mod search;
mod views;

use crate::api::AppState;
use askama::Template;
use axum::{
    Router,
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use scal3ml_api::ApiError;
use serde::Serialize;
use std::sync::Arc;

/// The policy every page is served with: nothing runs or styles the page but our own files, no plugins, no
/// framing, forms post only to this origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(home::page))
        .route("/search", get(search::page))
        .route("/assets/{id}", get(asset::page))
        .route("/assets/{id}/proposals", get(proposals::page))
        .route("/assets/{id}/changes", get(changes::page))
        .route("/assets/{id}/discussion", get(discussion::fragment))
        .route("/publish", get(publish::page))
        .route("/dashboard", get(dashboard::page))
        .route("/static/{name}", get(assets::serve))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        // Pages and static files gzipped for clients that accept it (the scripts and style shrink about 4x);
        // the store's gateway and the access routes, whose bytes are content-addressed, are not.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::map_response(weak_etag_when_encoded))
        .with_state(state)
}

/// A gzipped body is not byte-for-byte the file its ETag names, so its ETag becomes weak (`W/"..."`), as
/// RFC 9110 asks; `If-None-Match` compares weakly, so it still revalidates (see `assets::serve`).
async fn weak_etag_when_encoded(mut response: Response) -> Response {
    let h = response.headers_mut();
    if h.contains_key(header::CONTENT_ENCODING)
        && let Some(tag) = h.get(header::ETAG).and_then(|v| v.to_str().ok())
        && !tag.starts_with("W/")
        && let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}"))
    {
        h.insert(header::ETAG, weak);
    }
    response
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Any route nobody serves: the API's JSON error under the API's prefixes, the 404 page elsewhere.
async fn not_found(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    req: Request,
) -> Response {
    let path = req.uri().path();
    if ["/api/", "/access/", "/ipfs/", "/dev/"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return ApiError::not_found(
            "no_such_route",
            format!("no route {path}; see /api/openapi.json"),
        )
        .into_response();
    }
    let ctx = Ctx::new(state, req.headers());
    ctx.error(PageError::not_found(format!("There is no page at {path}.")))
}

/// Which header link is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Home,
    Search,
    Publish,
    Dashboard,
    None,
}

/// What the layout (`base.html`) prints around every page.
pub(crate) struct Layout {
    /// The `<title>`, before " · Scal3ML".
    pub(crate) title: String,
    pub(crate) nav: Nav,
    /// The page's configuration for `app.js`, already escaped for a `<script type="application/json">`.
    pub(crate) config_json: String,
    pub(crate) css_url: String,
    pub(crate) app_url: String,
    pub(crate) devwallet_url: Option<String>,
    pub(crate) chain_name: String,
    pub(crate) chain_id: u64,
    pub(crate) dev_wallet: bool,
}

impl Layout {
    /// `aria-current="page"` for the current page's link, nothing for the others.
    pub(crate) fn current(&self, nav: &str) -> &'static str {
        let me = match self.nav {
            Nav::Home => "home",
            Nav::Search => "search",
            Nav::Publish => "publish",
            Nav::Dashboard => "dashboard",
            Nav::None => "",
        };
        if me == nav { "page" } else { "false" }
    }
}

#[derive(Serialize)]
struct PageConfig<'a> {
    chain_id: u64,
    chain_name: &'a str,
    rpc_url: &'a str,
    explorer: Option<&'a str>,
    node_url: &'a str,
    marketplace: String,
    tokens: Vec<ConfigToken<'a>>,
    csrf: &'a str,
    dev_wallet: bool,
}

#[derive(Serialize)]
struct ConfigToken<'a> {
    symbol: &'a str,
    address: String,
    decimals: u8,
}

/// JSON that is safe inside a `<script>` element: no `<` (so no `</script>`), `>` or `&` as themselves.
fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .expect("the page configuration serialises")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// One request's page context: the state, the browser's CSRF token and the cookie to set if it is new.
pub(crate) struct Ctx {
    pub(crate) state: Arc<AppState>,
    csrf: String,
    cookie: Option<HeaderValue>,
}

impl Ctx {
    pub(crate) fn new(state: Arc<AppState>, headers: &HeaderMap) -> Self {
        let (csrf, cookie) = crate::csrf::ensure(headers);
        Self {
            state,
            csrf,
            cookie,
        }
    }

    /// The layout of a page titled `title`.
    pub(crate) fn layout(&self, title: impl Into<String>, nav: Nav) -> Layout {
        let n = &self.state.network;
        let config = PageConfig {
            chain_id: n.chain_id,
            chain_name: &n.name,
            rpc_url: &n.rpc_url,
            explorer: n.explorer.as_deref(),
            node_url: &n.node_url,
            marketplace: n.marketplace.to_checksum(None),
            tokens: n
                .tokens
                .iter()
                .map(|t| ConfigToken {
                    symbol: &t.symbol,
                    address: t.address.to_checksum(None),
                    decimals: t.decimals,
                })
                .collect(),
            csrf: &self.csrf,
            dev_wallet: self.state.dev_wallet,
        };
        Layout {
            title: title.into(),
            nav,
            config_json: script_json(&config),
            css_url: assets::url("style.css"),
            app_url: assets::url("app.js"),
            devwallet_url: self.state.dev_wallet.then(|| assets::url("devwallet.js")),
            chain_name: n.name.clone(),
            chain_id: n.chain_id,
            dev_wallet: self.state.dev_wallet,
        }
    }

    /// The rendered page, 200.
    pub(crate) fn render(self, page: &impl Template) -> Response {
        match page.render() {
            Ok(html) => self.respond(StatusCode::OK, html),
            Err(e) => self.error(PageError::internal(format!(
                "the page could not be rendered: {e}"
            ))),
        }
    }

    /// The error page for `error`, with its status.
    pub(crate) fn error(self, error: PageError) -> Response {
        if error.status.is_server_error() {
            tracing::warn!(target: "scal3ml::web", status = %error.status, message = %error.message, "page failed");
        }
        let page = views::ErrorPage {
            layout: self.layout(error.title, Nav::None),
            status: error.status.as_u16(),
            heading: error.title,
            message: error.message,
        };
        match page.render() {
            Ok(html) => self.respond(error.status, html),
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the error page failed: {e}"),
            )
                .into_response(),
        }
    }

    fn respond(self, status: StatusCode, html: String) -> Response {
        let mut response = (status, Html(html)).into_response();
        let h = response.headers_mut();
        // Pages carry the browser's CSRF token and its account-independent view of the catalog: never shared
        // caches, and always revalidated.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(cookie) = self.cookie {
            h.insert(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// Why a page could not be shown, as its reader should hear it.
#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl PageError {
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong",
            message: message.into(),
        }
    }

    /// No asset `id`.
    pub(crate) fn no_asset(id: &str) -> Self {
        Self::not_found(format!(
            "There is no asset {id} in this node's catalog. If it was published a moment ago, reload in a few \
             seconds; otherwise search for it."
        ))
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self::internal(e.message)
    }
}

/// An asset id from a path segment (no asset matches anything else).
pub(crate) fn asset_id(text: &str) -> Result<u64, PageError> {
    text.parse().map_err(|_| PageError::no_asset(text))
}

#[cfg(test)]
mod tests {
    use super::script_json;

    #[test]
    fn configuration_json_cannot_close_its_script_element() {
        let json =
            script_json(&serde_json::json!({"chain_name": "</script><script>alert(1)</script>&"}));
        assert!(
            !json.contains('<') && !json.contains('>') && !json.contains('&'),
            "{json}"
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["chain_name"], "</script><script>alert(1)</script>&");
    }
}
