//! Generators of keys, query strings, headers and bodies, good and bad.

use super::*;

/// Bytes a header value may hold: visible ASCII, space, tab and obs-text.
pub(super) fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => Just(b'\t'), 1 => 0x80u8..=0xff],
        0..max,
    )
}

pub(super) fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Raw query text that is a valid URI but bad percent-encoding or odd separators.
pub(super) fn raw_junk() -> impl Strategy<Value = String> {
    vec(
        select(vec![
            "%", "%%", "%zz", "%0", "%00", "%0D%0A", "%0a", "%FF%FE", "%C3%28", "%E2%80", "+", "=",
            "==", ";", "%3D", "%26", "%2C", ",", "..", "~", "a",
        ]),
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

/// Mostly the publish key, so most requests get past authorization to the handler.
pub(super) fn key_text() -> impl Strategy<Value = (String, Expect)> {
    prop_oneof![
        8 => Just((PUBLISH_KEY.to_owned(), Expect::Publish)),
        2 => Just((SUBSCRIBE_KEY.to_owned(), Expect::Subscribe)),
        1 => "[a-z]{1,12}".prop_map(|k| (format!("nope-{k}"), Expect::Invalid)),
    ]
}

pub(super) fn messy_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        key_text().prop_map(|(k, _)| format!(" \t{k} ").into_bytes()),
        key_text().prop_map(|(k, _)| k.to_ascii_uppercase().into_bytes()),
        key_text().prop_map(|(k, _)| format!("{k}, {k}").into_bytes()),
        Just(Vec::new()),
        Just(b"   ".to_vec()),
        header_bytes(48),
    ]
}

pub(super) fn messy_authorization() -> impl Strategy<Value = Vec<u8>> {
    let scheme = select(vec![
        "Bearer", "bearer", "BEARER", "Basic", "Token", "", "Bearer:",
    ]);
    prop_oneof![
        (scheme, key_text(), "[ \t]{0,3}")
            .prop_map(|(s, (k, _), pad)| format!("{s} {pad}{k}{pad}").into_bytes()),
        Just(b"Bearer".to_vec()),
        Just(b"Bearer ".to_vec()),
        header_bytes(48),
    ]
}

pub(super) fn messy_apikey() -> impl Strategy<Value = String> {
    prop_oneof![
        key_text().prop_map(|(k, _)| encode(&format!(" {k} "))),
        Just(String::new()),
        Just("%74est-publish-key".to_owned()),
        raw_junk(),
        any::<String>().prop_map(|s| encode(&s)),
    ]
}

pub(super) fn credentials() -> impl Strategy<Value = Credentials> {
    let none = Credentials {
        x_api_key: None,
        authorization: None,
        apikey: None,
        expect: Expect::Missing,
    };
    let clean = (prop_oneof![14 => 0..3u8, 1 => Just(3u8)], key_text()).prop_map(
        move |(place, (key, expect))| match place {
            0 => Credentials {
                x_api_key: Some(key.into_bytes()),
                expect,
                ..none.clone()
            },
            1 => Credentials {
                authorization: Some(format!("Bearer {key}").into_bytes()),
                expect,
                ..none.clone()
            },
            2 => Credentials {
                apikey: Some(key),
                expect,
                ..none.clone()
            },
            _ => none.clone(),
        },
    );
    let messy = (
        option::of(messy_key()),
        option::of(messy_authorization()),
        option::of(messy_apikey()),
    )
        .prop_map(|(x_api_key, authorization, apikey)| Credentials {
            x_api_key,
            authorization,
            apikey,
            expect: Expect::Unknown,
        });
    prop_oneof![4 => clean, 1 => messy]
}

pub(super) fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        select(vec!["", " ", "reset", "a\r\nid: 9\r\n", "\u{0}", "é"]).prop_map(Value::from),
    ]
    .boxed()
}

pub(super) fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Value::Array),
                vec(("[a-zA-Z_]{0,8}", inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Strings at a length cap: `cap - 2 ..= cap + 2` characters, ASCII or two-byte.
pub(super) fn at_cap(cap: usize) -> impl Strategy<Value = Value> {
    (cap - 2..=cap + 2, prop::bool::ANY)
        .prop_map(|(n, wide)| Value::from(if wide { "é" } else { "x" }.repeat(n)))
}

/// A JSON literal for a field, as text: often a good value, sometimes the wrong type, sometimes
/// a number serde cannot hold.
pub(super) fn field_value(name: &'static str) -> BoxedStrategy<String> {
    let good: BoxedStrategy<Value> = match name {
        "eventType" => prop_oneof![
            4 => "[A-Za-z0-9._:-]{1,64}".prop_map(Value::from),
            1 => select(vec!["reset", "Connected", "a b", "a\nb", "", "x:y"]).prop_map(Value::from),
            1 => at_cap(64),
        ]
        .boxed(),
        "message" | "entityId" | "entityType" => prop_oneof![
            4 => "[ -~]{0,40}".prop_map(Value::from),
            1 => at_cap(4096),
        ]
        .boxed(),
        "severity" | "category" => prop_oneof![
            4 => "[a-z ]{0,10}".prop_map(Value::from),
            1 => at_cap(64),
        ]
        .boxed(),
        "clientId" => prop_oneof![
            4 => "[A-Za-z0-9._:@-]{1,20}".prop_map(Value::from),
            1 => at_cap(128),
            1 => "[ -~]{0,12}".prop_map(Value::from),
        ]
        .boxed(),
        "sequence" => prop_oneof![
            4 => (0..6u64).prop_map(Value::from),
            1 => select(vec![json!(u64::MAX), json!(-1), json!(1.5), json!("3"), json!(2.0)]),
        ]
        .boxed(),
        "ttlSeconds" => prop_oneof![
            4 => (0..10u64).prop_map(Value::from),
            1 => select(vec![
                json!(604_800),
                json!(604_801),
                json!(u64::MAX),
                json!(-1),
                json!(1.5),
                json!("60"),
            ]),
        ]
        .boxed(),
        "intervalSeconds" => prop_oneof![
            4 => (0..62u64).prop_map(Value::from),
            1 => select(vec![
                json!(4_294_967_297u64),
                json!(-1),
                json!(1.5),
                json!("5"),
                json!(null),
            ]),
        ]
        .boxed(),
        _ => json_value(),
    };
    prop_oneof![
        6 => good.prop_map(|v| v.to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => select(vec![
            "1e400", "-1e400", "18446744073709551616", "-0", "1.0", "1e2", "-9223372036854775809",
            "\"\\ud800\"", "\"\\u0000\"",
        ])
        .prop_map(String::from),
    ]
    .boxed()
}

pub(super) const FIELDS: [&str; 12] = [
    "eventType",
    "data",
    "message",
    "severity",
    "category",
    "entityId",
    "entityType",
    "changes",
    "clientId",
    "sequence",
    "ttlSeconds",
    "intervalSeconds",
];

pub(super) fn field_entry() -> BoxedStrategy<(String, String)> {
    prop_oneof![
        9 => select(FIELDS.to_vec())
            .prop_flat_map(|name| field_value(name).prop_map(move |v| (name.to_owned(), v))),
        1 => (any::<String>(), json_value()).prop_map(|(k, v)| (k, v.to_string())),
    ]
    .boxed()
}

pub(super) fn object_text(entries: &[(String, String)]) -> String {
    let fields: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// A body valid for every endpoint: each one ignores the others' fields.
pub(super) fn valid_fields() -> Vec<(String, String)> {
    let valid = json!({
        "eventType": "fuzz.event", "data": {"n": 1}, "message": "hello", "severity": "info",
        "category": "system", "entityId": "e-1", "entityType": "thing", "changes": {"a": 1},
        "clientId": "fuzz-client", "sequence": 0, "ttlSeconds": 60, "intervalSeconds": 30,
    });
    let Value::Object(map) = valid else {
        unreachable!()
    };
    map.into_iter().map(|(k, v)| (k, v.to_string())).collect()
}

/// The valid body with fields dropped and a few overridden (duplicate keys: the last wins).
pub(super) fn mutated_valid() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(prop::bool::weighted(0.85), FIELDS.len()),
        vec(field_entry(), 0..3),
    )
        .prop_map(|(keep, extra)| {
            let mut entries: Vec<(String, String)> = valid_fields()
                .into_iter()
                .zip(keep)
                .filter_map(|(entry, keep)| keep.then_some(entry))
                .collect();
            entries.extend(extra);
            object_text(&entries).into_bytes()
        })
}

/// Deep arrays or objects, within serde's recursion limit or far beyond it.
pub(super) fn deep_nesting() -> impl Strategy<Value = Vec<u8>> {
    let depth = prop_oneof![1..140usize, 140..5000usize];
    (depth, prop::bool::ANY, prop::bool::ANY).prop_map(|(depth, arrays, wrapped)| {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
        let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let text = if wrapped {
            let fields = r#""message":"m","entityId":"e","entityType":"t""#;
            format!(r#"{{{fields},"data":{nested},"changes":{{"x":{nested}}}}}"#)
        } else {
            nested
        };
        text.into_bytes()
    })
}

/// A valid body padded to a total size around the body limit.
pub(super) fn near_limit() -> impl Strategy<Value = Vec<u8>> {
    (BODY_LIMIT - 24..=BODY_LIMIT + 24).prop_map(|total| {
        let head = concat!(
            r#"{"message":"m","entityId":"e","entityType":"t","#,
            r#""clientId":"c","sequence":0,"data":""#
        );
        let tail = "\"}";
        let pad = total.saturating_sub(head.len() + tail.len()).max(1);
        format!("{head}{}{tail}", "x".repeat(pad)).into_bytes()
    })
}

/// Bodies that are almost JSON objects, or JSON that serde refuses.
pub(super) const JUNK_BODIES: [&str; 17] = [
    "",
    " ",
    "\n\t ",
    "{",
    "}",
    "null",
    "[]",
    "\"\"",
    "0",
    "{\"data\":1}x",
    "\u{feff}{\"data\":1}",
    "{\"data\":1,\"data\":null}",
    "{'data':1}",
    "{\"data\":NaN}",
    "{\"data\":Infinity}",
    "{\"data\":1e400}",
    "{\"clientId\":\"a\",\"sequence\":18446744073709551616}",
];

pub(super) fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => mutated_valid(),
        3 => vec(field_entry(), 0..7).prop_map(|e| object_text(&e).into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..300),
        1 => deep_nesting(),
        1 => near_limit(),
        1 => select(JUNK_BODIES.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
    ]
    .boxed()
}

pub(super) fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        9 => Just(Some(b"application/json".to_vec())),
        2 => select(vec![
            "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json",
            "application/+json", "application/json;", " application/json ", "text/plain",
            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/jsonx", "json", "", ";",
        ])
        .prop_map(|s| Some(s.as_bytes().to_vec())),
        1 => Just(None),
        1 => header_bytes(40).prop_map(Some),
    ]
}

pub(super) fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0..10u64).prop_map(|n| n.to_string()),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        2 => select(vec![
            "18446744073709551615", "18446744073709551616", "99999999999999999999999", "-1",
            "+1", " 1", "1 ", "0x10", "1e3", "1.0", "", "00000000000000000000001", "٣", "1,2",
        ])
        .prop_map(String::from),
    ]
}

pub(super) fn client_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._:@-]{1,16}",
        1 => "[A-Za-z0-9._:@-]{127,130}",
        1 => ".{0,12}",
    ]
}

pub(super) fn filter_text() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            6 => "[A-Za-z0-9._:-]{1,10}",
            1 => "[ -~]{0,5}",
            1 => "[A-Za-z]{64,66}",
        ],
        0..40,
    )
    .prop_map(|items| items.join(","))
}

/// Any value at all: a wrong type for every key.
pub(super) fn junk_value() -> BoxedStrategy<String> {
    prop_oneof![
        number_text().prop_map(|v| encode(&v)),
        client_text().prop_map(|v| encode(&v)),
        any::<String>().prop_map(|v| encode(&v)),
        raw_junk(),
    ]
    .boxed()
}

/// A value that suits `key` (and is often valid), else junk.
pub(super) fn value_for(key: &str) -> BoxedStrategy<String> {
    let suited = match key {
        "clientId" => client_text().prop_map(|v| encode(&v)).boxed(),
        "filter" => filter_text().prop_map(|v| encode(&v)).boxed(),
        "checkpoint" | "lastEventId" => number_text().prop_map(|v| encode(&v)).boxed(),
        "token" => "v1\\.[A-Za-z0-9_-]{0,8}\\.[0-9]{1,12}\\.[A-Za-z0-9_-]{0,43}".boxed(),
        "topic" => prop_oneof![
            4 => "[a-z0-9/]{1,12}\\*?".prop_map(|v| encode(&v)),
            1 => select(vec!["*", "**", "a*b", "", "org/42/*", "%2A"]).prop_map(String::from),
        ]
        .boxed(),
        "limit" => number_text().prop_map(|v| encode(&v)).boxed(),
        "after" => prop_oneof![
            number_text().prop_map(|v| encode(&v)),
            "[A-Za-z0-9_-]{0,24}",
        ]
        .boxed(),
        _ => junk_value(),
    };
    prop_oneof![4 => suited, 1 => junk_value()].boxed()
}

pub(super) fn query_item() -> BoxedStrategy<String> {
    let key = prop_oneof![
        12 => select(vec!["clientId", "filter", "checkpoint", "lastEventId"])
            .prop_map(String::from),
        4 => select(vec!["topic", "limit", "after"]).prop_map(String::from),
        1 => Just("token".to_owned()),
        1 => "[a-zA-Z]{1,8}",
        1 => raw_junk(),
    ]
    .boxed();
    prop_oneof![
        8 => key.clone().prop_flat_map(|k| value_for(&k).prop_map(move |v| format!("{k}={v}"))),
        1 => key,
        1 => Just(String::new()),
    ]
    .boxed()
}

pub(super) fn extra_headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    let name = select(vec![
        "x-api-key",
        "authorization",
        "content-type",
        "last-event-id",
        "x-junk",
    ]);
    let value = prop_oneof![
        key_text().prop_map(|(k, _)| k.into_bytes()),
        Just(b"application/json".to_vec()),
        number_text().prop_map(String::into_bytes),
        header_bytes(32),
    ];
    vec((name, value), 0..3)
}

pub(super) fn last_event_id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => number_text().prop_map(String::into_bytes),
        1 => header_bytes(24),
    ]
}

pub(super) fn client_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._:@-]{1,24}",
        1 => "[A-Za-z0-9._:@-]{127,130}",
        1 => "[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,20}",
        1 => Just(String::new()),
    ]
}

pub(super) fn publish_path() -> impl Strategy<Value = String> {
    let kind = select(vec![
        "broadcast",
        "send",
        "notification",
        "alert",
        "data-update",
    ]);
    (kind, client_segment(), prop::bool::ANY).prop_map(|(kind, client, targeted)| match kind {
        "broadcast" => "/api/sse/broadcast".to_owned(),
        "send" => format!("/api/sse/send/{client}"),
        _ if targeted => format!("/api/sse/{kind}/{client}"),
        _ => format!("/api/sse/{kind}"),
    })
}

/// A POST probe: credentials, a few junk query items, a content type and a body.
pub(super) fn post_probe(
    endpoint: impl Strategy<Value = (Endpoint, String)>,
) -> impl Strategy<Value = Probe> {
    (
        endpoint,
        credentials(),
        vec(query_item(), 0..3),
        content_type(),
        body(),
        prop::bool::weighted(0.2),
        prop_oneof![4 => Just(Vec::new()), 1 => extra_headers()],
    )
        .prop_map(
            |((endpoint, path), credentials, query, content_type, body, chunked, extra)| {
                Probe::new(endpoint, path, credentials)
                    .with_query(query)
                    .with_header("content-type", content_type)
                    .with_extra_headers(extra)
                    .with_body(body, chunked)
            },
        )
}

// ------------------------------------------------------------------------------------------
// Raw request heads for the lean stream path: bytes no HTTP client would send.
