"""Schemathesis hooks for scripts/suites/45-api-fuzz.sh: the node's API fuzzed from its own OpenAPI document.

- A CAR upload (`POST /api/car`, `application/vnd.ipld.car`) is sent as the raw bytes generated for it, the way
  `application/octet-stream` is (schemathesis has no serializer for the CAR media type by itself).
- `error_shape`: every 4xx and 5xx answer of `/api` and `/access` is `application/json` and exactly
  `{"error": {"code": str, "message": str, "fields"?: {str: str}}}`, whether or not the document lists that
  status for the route (response_schema_conformance only looks at documented ones).
- Each request comes from a client address of its own, and carries the CSRF token where it names the header
  (see `before_call`).
"""

import json
import os

import schemathesis

schemathesis.serializer.alias("application/vnd.ipld.car", "application/octet-stream")


@schemathesis.check
def error_shape(ctx, response, case):
    if response.status_code < 400 or not case.path.startswith(("/api/", "/access/")):
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if content_type.split(";")[0].strip() != "application/json":
        raise AssertionError(f"a {response.status_code} answer of type {content_type!r}, not application/json")
    try:
        body = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(f"a {response.status_code} answer that is not JSON: {e}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or set(body) != {"error"}:
        raise AssertionError(f'a {response.status_code} answer outside {{"error": {{...}}}}: {body!r}')
    if not isinstance(error.get("code"), str) or not error["code"]:
        raise AssertionError(f"error.code is not a non-empty string: {body!r}")
    if not isinstance(error.get("message"), str) or not error["message"]:
        raise AssertionError(f"error.message is not a non-empty string: {body!r}")
    extra = set(error) - {"code", "message", "fields"}
    if extra:
        raise AssertionError(f"error has keys beyond code, message and fields: {sorted(extra)}")
    fields = error.get("fields", {})
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise AssertionError(f"error.fields is not an object of strings: {body!r}")
    return None


# The node answers 429 to an address after 20 refusals a minute, before any work, and nearly every fuzzed request
# is refused: from one address the run would test the rate limit and little else. The suite starts the node with
# `--trusted-proxy 127.0.0.1`, and each request names a client of its own in X-Forwarded-For (10.0.0.0/8, in
# turn), as if many clients came through a proxy.
_clients = iter(range(1, 1 << 24))


# The CSRF token: the suite sends the scal3ml_csrf cookie with every request (-H) and its value here. The
# x-csrf-token header is a documented parameter, so schemathesis generates it (a random value the node refuses,
# 403) or leaves it out to see the refusal (missing_required_header): its value is put right where it is sent,
# and it stays out where it was left out. Sent with -H it would be there always, and that check would fail.
_csrf = os.environ.get("SCAL3ML_FUZZ_CSRF", "")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    n = next(_clients)
    if case.headers is None:
        case.headers = {}
    case.headers["X-Forwarded-For"] = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    for name in list(case.headers):
        if name.lower() == "x-csrf-token" and _csrf:
            case.headers[name] = _csrf
