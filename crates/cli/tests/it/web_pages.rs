//! The web pages as a reader without JavaScript sees them, on `scal3ml dev` with assets published by the CLI:
//! what each page shows, that search filters narrow the results, that a card's `<script>` stays harmless, that
//! every page carries the security headers and weighs under 100 KB, and that unknown assets and routes are 404.

use crate::common::{DevNode, get_json, json};
use reqwest::{Client, StatusCode, header};
use serde_json::Value;
use std::time::Duration;

/// Most bytes a page without images may weigh (docs/web.md, issue 7).
const MAX_PAGE_BYTES: usize = 100 * 1024;

struct Page {
    status: StatusCode,
    headers: header::HeaderMap,
    body: String,
}

async fn get(http: &Client, url: &str) -> Page {
    let response = http.get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Page {
        status,
        headers,
        body,
    }
}

/// A page as served: HTML, the security headers, the CSRF cookie and configuration, under the weight limit.
async fn page(http: &Client, url: &str, status: StatusCode) -> String {
    let p = get(http, url).await;
    assert_eq!(p.status, status, "GET {url}:\n{}", p.body);
    let h = |name: &str| {
        p.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(
        h("content-type").starts_with("text/html"),
        "{url}: {}",
        h("content-type")
    );
    let csp = h("content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{url}: CSP {csp:?} lacks {directive}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{url}: {csp}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{url}");
    assert_eq!(h("referrer-policy"), "same-origin", "{url}");
    assert!(
        h("set-cookie").starts_with("scal3ml_csrf="),
        "{url}: a first visit gets its CSRF cookie"
    );
    assert!(h("set-cookie").contains("SameSite=Strict"), "{url}");
    assert!(
        p.body.len() < MAX_PAGE_BYTES,
        "{url} weighs {} bytes",
        p.body.len()
    );
    assert!(
        p.body.contains("id=\"scal3ml-config\""),
        "{url}: no configuration"
    );
    assert!(
        p.body.contains("id=\"wallet-connect\"") && p.body.contains("id=\"wallet-account\""),
        "{url}"
    );
    assert!(
        p.body.contains("chain id 31337"),
        "{url}: the footer names the chain"
    );
    // No inline script (the configuration is data, not script) and no inline style for the CSP to block.
    for (i, _) in p.body.match_indices("<script") {
        let tag = &p.body[i..i + p.body[i..].find('>').unwrap()];
        assert!(
            tag.contains("type=\"application/json\"") || tag.contains(" src="),
            "{url}: inline script {tag}"
        );
    }
    assert!(
        !p.body.contains(" style="),
        "{url}: an inline style attribute"
    );
    p.body
}

/// Polls the API until `word` finds an asset.
async fn searchable(http: &Client, url: &str, word: &str) {
    for _ in 0..200 {
        let found: Value = get_json(http, &format!("{url}/api/assets?text={word}")).await;
        if found["total"].as_u64().unwrap_or(0) > 0 && found["items"][0]["card_indexed"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{word:?} did not become searchable within 10 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_show_the_catalog_and_keep_card_text_harmless() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let url = dev.server.url.clone();
    let http = Client::new();

    let csv = work.path().join("tulips.csv");
    std::fs::write(&csv, "petal,colour\n4.2,red\n").unwrap();
    let dataset = json(
        &url,
        &[
            "publish",
            csv.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Tulip petals",
            "--license",
            "CC-BY-4.0",
            "--tag",
            "tabular",
            "--description",
            "# Tulips\n\nMeasured **tulipwise**.\n\n<script>alert('card')</script>\n\n[click](javascript:alert(2)) \
             <img src=x onerror=alert(3)>",
            "--dev-account",
            "4",
        ],
    );
    let dataset = dataset["asset"].as_u64().unwrap();
    let model_dir = work.path().join("model");
    std::fs::create_dir_all(model_dir.join("weights")).unwrap();
    std::fs::write(model_dir.join("weights/model.bin"), vec![7u8; 3000]).unwrap();
    let model = json(
        &url,
        &[
            "publish",
            model_dir.to_str().unwrap(),
            "--kind",
            "model",
            "--name",
            "Tulip sorter <b>v1</b>",
            "--license",
            "MIT",
            "--description",
            "Sorts tulipwise bulbs",
            "--price",
            "0.05",
            "--duration",
            "30d",
            "--parent",
            &format!("{dataset}=10"),
            "--dev-account",
            "0",
        ],
    );
    let model = model["asset"].as_u64().unwrap();
    searchable(&http, &url, "tulipwise").await;
    searchable(&http, &url, "bulbs").await;

    // Home: the totals and both assets among the recent ones.
    let home = page(&http, &format!("{url}/"), StatusCode::OK).await;
    assert!(
        home.contains("Tulip petals") && home.contains("Tulip sorter"),
        "{home}"
    );
    assert!(home.contains("<dt>Assets</dt><dd>2</dd>"), "{home}");

    // The asset page: name, file CIDs and sizes, price and terms, lineage, the wallet hooks.
    let detail: Value = get_json(&http, &format!("{url}/api/assets/{model}")).await;
    let file_cid = detail["card"]["files"][0]["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let asset = page(&http, &format!("{url}/assets/{model}"), StatusCode::OK).await;
    assert!(
        asset.contains("<h1>Tulip sorter &") && !asset.contains("<b>v1</b>"),
        "the name is escaped: {asset}"
    );
    assert!(
        asset.contains(&file_cid),
        "the file's CID {file_cid} is on the page"
    );
    assert!(
        asset.contains("weights/model.bin") && asset.contains("2.9 KiB"),
        "path and size"
    );
    assert!(
        asset.contains("0.05 ETH") && asset.contains("30 days license"),
        "price and terms"
    );
    assert!(
        asset.contains(&format!("class=\"js-buy\" data-asset=\"{model}\"")),
        "the Buy form"
    );
    assert!(
        asset.contains("<select id=\"buy-token\" name=\"token\">"),
        "the token choice"
    );
    assert!(
        asset.contains(&format!("class=\"js-download button button-small\" data-asset=\"{model}\" data-encrypted=\"true\" href=\"/access/content/{model}/weights/model.bin\"")),
        "a download link per file"
    );
    assert!(asset.contains(&format!(
        "class=\"js-access access\" data-asset=\"{model}\""
    )));
    assert!(asset.contains("class=\"tx-status\" role=\"status\" aria-live=\"polite\""));
    assert!(
        asset.contains("<svg class=\"lineage\""),
        "the lineage graph"
    );
    assert!(
        asset.contains(&format!("href=\"/assets/{dataset}\"")) && asset.contains(">10%</text>"),
        "the parent and its royalty"
    );
    assert!(asset.contains("100%"), "the publisher holds every share");
    assert!(asset.contains(&format!("href=\"/assets/{model}/proposals\"")));

    // The dataset's card: Markdown formats, its script, handler and javascript: link do not survive.
    let card = page(&http, &format!("{url}/assets/{dataset}"), StatusCode::OK).await;
    assert!(
        card.contains("<h1>Tulips</h1>") && card.contains("<strong>tulipwise</strong>"),
        "{card}"
    );
    assert!(!card.contains("alert("), "card script survived: {card}");
    assert!(
        !card.contains("onerror") && !card.to_lowercase().contains("javascript:"),
        "{card}"
    );
    assert!(
        card.contains("data-encrypted=\"false\""),
        "a free asset downloads without signing in"
    );

    // Search: words, and each filter narrows.
    let found = page(
        &http,
        &format!("{url}/search?text=tulipwise"),
        StatusCode::OK,
    )
    .await;
    assert!(
        found.contains("2 results") && found.contains("<mark>tulipwise</mark>"),
        "{found}"
    );
    let models = page(
        &http,
        &format!("{url}/search?text=tulipwise&kind=model"),
        StatusCode::OK,
    )
    .await;
    assert!(
        models.contains("1 result")
            && models.contains("Tulip sorter")
            && !models.contains("Tulip petals"),
        "{models}"
    );
    let free = page(&http, &format!("{url}/search?free_only=on"), StatusCode::OK).await;
    assert!(
        free.contains("Tulip petals") && !free.contains("Tulip sorter"),
        "{free}"
    );
    let cheap = page(
        &http,
        &format!("{url}/search?max_price=0.01&token=ETH"),
        StatusCode::OK,
    )
    .await;
    assert!(
        !cheap.contains("Tulip sorter"),
        "0.05 ETH is above 0.01: {cheap}"
    );
    let tagged = page(&http, &format!("{url}/search?tag=tabular"), StatusCode::OK).await;
    assert!(
        tagged.contains("Tulip petals") && !tagged.contains("Tulip sorter"),
        "{tagged}"
    );
    let bad = page(
        &http,
        &format!("{url}/search?max_price=lots&sort=sideways"),
        StatusCode::OK,
    )
    .await;
    assert!(
        bad.contains("Maximum price") && bad.contains("role=\"alert\""),
        "a bad filter is explained: {bad}"
    );
    assert!(
        found.contains("value=\"tulipwise\""),
        "the form keeps the words"
    );

    // Proposals, publish, dashboard.
    let proposals = page(
        &http,
        &format!("{url}/assets/{model}/proposals"),
        StatusCode::OK,
    )
    .await;
    assert!(
        proposals.contains("No proposals for this asset yet"),
        "{proposals}"
    );
    let publish = page(&http, &format!("{url}/publish"), StatusCode::OK).await;
    for field in [
        "account",
        "kind",
        "name",
        "description",
        "license",
        "tags",
        "task",
        "framework",
        "price",
        "token",
        "duration",
        "collaborator",
        "parent",
        "readme",
        "file",
    ] {
        assert!(
            publish.contains(&format!("name=\"{field}\"")),
            "the publish form lacks {field}"
        );
        assert!(
            publish.contains(&format!("data-field=\"{field}\"")),
            "no error place for {field}"
        );
    }
    assert!(
        publish.contains("id=\"publish-form\"")
            && publish.contains("webkitdirectory")
            && publish.contains("<progress")
    );
    let empty = page(&http, &format!("{url}/dashboard"), StatusCode::OK).await;
    assert!(empty.contains("name=\"account\""), "{empty}");
    let owner = crate::common::dev_key(0).address();
    let dashboard = page(
        &http,
        &format!("{url}/dashboard?account={owner}"),
        StatusCode::OK,
    )
    .await;
    assert!(
        dashboard.contains("Tulip sorter") && dashboard.contains("Shares held"),
        "{dashboard}"
    );
    let bad = page(
        &http,
        &format!("{url}/dashboard?account=nobody"),
        StatusCode::OK,
    )
    .await;
    assert!(bad.contains("is not an address"), "{bad}");

    // Unknown assets and routes.
    for missing in [
        "/assets/999999",
        "/assets/not-a-number",
        "/assets/999999/proposals",
        "/no/such/page",
    ] {
        let body = page(&http, &format!("{url}{missing}"), StatusCode::NOT_FOUND).await;
        assert!(body.contains("Not found"), "{missing}: {body}");
    }
    let api = get(&http, &format!("{url}/api/no-such-route")).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(
        api.body.contains("\"error\""),
        "the API answers JSON: {}",
        api.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn static_files_are_cached_by_their_hash() {
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let url = dev.server.url.clone();
    let http = Client::new();
    let home = get(&http, &format!("{url}/")).await.body;
    for name in ["style.css", "app.js", "devwallet.js"] {
        let start = home
            .find(&format!("/static/{name}?v="))
            .unwrap_or_else(|| panic!("the page links {name}"));
        let link = &home[start..start + home[start..].find('"').unwrap()];
        let hashed = get(&http, &format!("{url}{link}")).await;
        assert_eq!(hashed.status, StatusCode::OK, "{link}");
        let cache = hashed.headers[header::CACHE_CONTROL].to_str().unwrap();
        assert!(cache.contains("immutable"), "{link}: {cache}");
        let kind = hashed.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(
            kind.starts_with(if name.ends_with(".css") {
                "text/css"
            } else {
                "text/javascript"
            }),
            "{kind}"
        );
        let etag = hashed.headers[header::ETAG].clone();
        let again = http
            .get(format!("{url}/static/{name}"))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(
            again.status(),
            StatusCode::NOT_MODIFIED,
            "{name} revalidates by its ETag"
        );
    }
    let plain = get(&http, &format!("{url}/static/wallet.js")).await;
    assert_eq!(
        plain.headers[header::CACHE_CONTROL],
        "no-cache",
        "an unhashed URL is revalidated"
    );
    assert_eq!(
        get(&http, &format!("{url}/static/nope.js")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_and_static_files_are_gzipped_for_clients_that_accept_it() {
    use std::io::Read;
    let work = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&work.path().join("node"));
    let url = dev.server.url.clone();
    let http = Client::new();
    for path in ["/", "/search?q=iris", "/static/app.js", "/static/style.css"] {
        let plain = get(&http, &format!("{url}{path}")).await;
        assert!(
            !plain.headers.contains_key(header::CONTENT_ENCODING),
            "{path}: not encoded unless asked"
        );
        let gz = http
            .get(format!("{url}{path}"))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gz.status(), StatusCode::OK, "{path}");
        let headers = gz.headers().clone();
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip", "{path}");
        assert!(
            headers[header::VARY]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{path}: caches keep the two apart"
        );
        let packed = gz.bytes().await.unwrap();
        let mut unpacked = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut unpacked)
            .unwrap();
        if path.starts_with("/static/") {
            assert_eq!(unpacked, plain.body, "{path}: the same bytes once decoded");
            assert!(
                packed.len() * 2 < plain.body.len(),
                "{path}: {} bytes gzipped from {}",
                packed.len(),
                plain.body.len()
            );
            // The encoded file's ETag is weak and still revalidates.
            let etag = headers[header::ETAG].to_str().unwrap().to_string();
            assert!(etag.starts_with("W/\""), "{path}: {etag}");
            let again = http
                .get(format!("{url}{path}"))
                .header(header::ACCEPT_ENCODING, "gzip")
                .header(header::IF_NONE_MATCH, &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        } else {
            // A page carries a fresh CSRF token and the catalog's latest block: the whole page, decoded, with
            // the same title as the plain one.
            let title = |page: &str| {
                page.split("<title>")
                    .nth(1)
                    .map(|t| t.split('<').next().unwrap().to_string())
            };
            assert!(
                unpacked.starts_with("<!doctype html>") && unpacked.trim_end().ends_with("</html>"),
                "{path}"
            );
            assert_eq!(title(&unpacked), title(&plain.body), "{path}");
            assert!(packed.len() * 2 < unpacked.len(), "{path}");
        }
    }
}
