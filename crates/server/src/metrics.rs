//! Prometheus metrics: request counts and latency per route and status, in the text exposition format.

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::Instant,
};

/// One series: method, route pattern, status.
type Series = (String, String, u16);

/// Counters the node exports at `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Per series: count and total seconds.
    requests: Mutex<BTreeMap<Series, (u64, f64)>>,
}

impl Metrics {
    /// Renders every metric, plus the `extra` gauges given by the caller (name, help, value).
    pub(crate) fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP scal3ml_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE scal3ml_http_requests_total counter\n");
        let requests = self.requests.lock().expect("metrics lock");
        for ((method, route, status), (count, _)) in requests.iter() {
            let _ = writeln!(
                out,
                "scal3ml_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP scal3ml_http_request_seconds_sum Total time spent answering HTTP requests.\n",
        );
        out.push_str("# TYPE scal3ml_http_request_seconds_sum counter\n");
        for ((method, route, status), (_, secs)) in requests.iter() {
            let _ = writeln!(
                out,
                "scal3ml_http_request_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {secs}"
            );
        }
        for (name, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }

    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut requests = self.requests.lock().expect("metrics lock");
        let entry = requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        entry.0 += 1;
        entry.1 += secs;
    }
}

/// Middleware: times each request and counts it under its route pattern (not its path, so ids do not
/// create a series each).
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}
