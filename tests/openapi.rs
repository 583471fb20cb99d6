//! The OpenAPI document (`src/http/openapi.json`) against the router: it lists exactly
//! `ROUTES`, every operation is complete and every `$ref` resolves; and a live hub serves every
//! documented route (and the document itself).

mod support;

use std::collections::BTreeSet;

use http::Method;
use serde_json::{json, Value};
use ssehub::http::router::ROUTES;
use support::{get, post_json, SseStream, TestHub, PUBLISH_KEY};

const DOCUMENT: &str = include_str!("../src/http/openapi.json");

/// The keys of a path item that are operations (OpenAPI 3.1 §4.8.9).
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A client id that is valid everywhere a `{clientId}` goes.
const CLIENT: &str = "route-check";

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("src/http/openapi.json is not valid JSON")
}

/// Every operation as (METHOD, path template, operation object).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push((method.to_ascii_uppercase(), path.clone(), operation));
            }
        }
    }
    out
}

/// Follows a local `$ref` (`#/components/...`), or returns the value itself.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.strip_prefix('#')?),
        None => Some(value),
    }
}

#[test]
fn document_is_openapi_3_1() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(
        version.starts_with("3.1"),
        "openapi is {version:?}, not 3.1.x"
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
}

#[test]
fn paths_are_exactly_the_router_routes() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "openapi.json and router::ROUTES differ\n  in ROUTES but not in openapi.json: \
         {undocumented:?}\n  in openapi.json but not in ROUTES: {unrouted:?}"
    );
}

#[test]
fn every_operation_has_an_id_and_a_success_response() {
    let doc = document();
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        match operation["operationId"].as_str() {
            Some(id) if !id.is_empty() => {
                if !ids.insert(id.to_owned()) {
                    problems.push(format!("{method} {path}: operationId {id:?} is used twice"));
                }
            }
            _ => problems.push(format!("{method} {path}: no operationId")),
        }
        let responses = operation["responses"].as_object();
        if !responses.is_some_and(|r| r.keys().any(|status| status.starts_with('2'))) {
            problems.push(format!("{method} {path}: no 2xx response"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_ref_resolves_inside_the_document() {
    fn walk(doc: &Value, at: &str, value: &Value, problems: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref") {
                    let target = reference
                        .as_str()
                        .and_then(|r| r.strip_prefix('#'))
                        .and_then(|pointer| doc.pointer(pointer));
                    if target.is_none() {
                        problems.push(format!("{at}: $ref {reference} does not resolve"));
                    }
                }
                for (key, child) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    walk(doc, &format!("{at}/{key}"), child, problems);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(doc, &format!("{at}/{index}"), child, problems);
                }
            }
            _ => {}
        }
    }
    let doc = document();
    let mut problems = Vec::new();
    walk(&doc, "#", &doc, &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn path_templates_match_their_path_parameters() {
    let doc = document();
    let mut problems = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let templated: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let mut declared = BTreeSet::new();
        let item_params = doc["paths"][&path]["parameters"].as_array();
        let op_params = operation["parameters"].as_array();
        for param in item_params.into_iter().chain(op_params).flatten() {
            let Some(param) = resolve(&doc, param) else {
                continue; // Reported by the $ref test.
            };
            if param["in"] == "path" {
                if param["required"] != true {
                    problems.push(format!("{method} {path}: path parameter not required"));
                }
                declared.insert(param["name"].as_str().unwrap_or_default());
            }
        }
        if templated != declared {
            problems.push(format!(
                "{method} {path}: template names {templated:?}, parameters declare {declared:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A body each POST route accepts, so the request gets past validation to the handler.
fn sample_body(path: &str) -> Value {
    let kind = path.trim_start_matches("/api/").split('/').nth(1);
    match kind {
        Some("ack") => json!({"clientId": CLIENT, "sequence": 0}),
        Some("token") => json!({"clientId": CLIENT, "ttlSeconds": 60}),
        Some("notification" | "alert") => json!({"message": "route check"}),
        Some("data-update") => json!({"entityId": "1", "entityType": "route"}),
        Some("start") => json!({"intervalSeconds": 60}),
        Some("batch") => json!({"events": [{"data": "route check"}]}),
        _ => json!({"data": "route check"}),
    }
}

#[tokio::test]
async fn the_router_serves_every_documented_route() {
    let hub = TestHub::builder().keys().start().await;
    let mut unserved = Vec::new();
    for (method, template) in ROUTES {
        let path = template.replace("{clientId}", CLIENT);
        let (status, body) = match *method {
            "GET" if path == "/api/sse/connect" => {
                let stream = SseStream::open(
                    hub.addr,
                    &format!("{path}?clientId={CLIENT}"),
                    &[("x-api-key", PUBLISH_KEY)],
                )
                .await;
                // The stream never ends by itself; its status is all this test needs.
                (stream.status, String::new())
            }
            "GET" => {
                let reply = get(hub.addr, &path, Some(PUBLISH_KEY)).await;
                (reply.status, reply.body)
            }
            "POST" => {
                let reply = post_json(hub.addr, &path, Some(PUBLISH_KEY), sample_body(&path)).await;
                (reply.status, reply.body)
            }
            other => panic!("ROUTES has a method this test does not know: {other}"),
        };
        if status == 404 || status == 405 {
            unserved.push(format!("{method} {path} -> {status} {body}"));
        }
    }
    hub.stop().await;
    assert!(
        unserved.is_empty(),
        "documented routes the router does not serve:\n{}",
        unserved.join("\n")
    );
}

#[tokio::test]
async fn the_served_document_is_the_file() {
    let hub = TestHub::builder().keys().start().await;
    // No key: the document is public.
    let reply = get(hub.addr, "/api/openapi.json", None).await;
    assert_eq!(reply.status, 200, "GET /api/openapi.json: {}", reply.body);
    let content_type = reply.headers.get(http::header::CONTENT_TYPE);
    assert!(
        content_type
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "content-type: {content_type:?}"
    );
    assert_eq!(
        reply.json(),
        document(),
        "served document differs from the file"
    );
    // HEAD is implied wherever GET is.
    let head = support::request(hub.addr, Method::HEAD, "/api/openapi.json", &[], None).await;
    assert_eq!(head.status, 200);
    hub.stop().await;
}

#[tokio::test]
async fn a_documented_path_with_another_method_is_405_with_allow() {
    let hub = TestHub::start().await;
    let mut wrong = Vec::new();
    for (method, template) in ROUTES {
        let path = template.replace("{clientId}", CLIENT);
        let other = if *method == "GET" {
            Method::POST
        } else {
            Method::GET
        };
        for probe in [other, Method::DELETE] {
            let reply = support::request(hub.addr, probe.clone(), &path, &[], None).await;
            let allow = reply
                .headers
                .get(http::header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let code = reply.json()["error"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if reply.status != 405 || code != "method_not_allowed" || !allow.contains(method) {
                wrong.push(format!(
                    "{probe} {path} -> {} {code:?}, Allow: {allow:?}",
                    reply.status
                ));
            }
        }
    }
    hub.stop().await;
    assert!(
        wrong.is_empty(),
        "known paths that do not answer 405 with Allow for another method:\n{}",
        wrong.join("\n")
    );
}
