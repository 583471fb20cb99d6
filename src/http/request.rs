//! Reading requests into domain inputs: query parameters, credentials, JSON bodies within the
//! size limit, and the stream request both transports share ([`open_request`]).

use crate::http::body::RequestBody;
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::tls::OverTls;
use super::HttpSettings;
use crate::auth::jwt::looks_like_jwt;
use crate::auth::Credentials;
use crate::event::{ClientId, Filter, Selector, Sequence};
use crate::node::{Body, BodyError, ConnInfo, ErrorCode, OpenRequest};
use crate::sse::resume::Requested;

/// Decoded query parameters, first occurrence wins.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter, in order.
    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The repeatable `topic=` selectors, deduplicated in order. The node checks the count against
/// its limit and each against the caller's grant; parsing is bounded by the header size.
///
/// # Errors
/// 400 `invalid_topic` for a malformed selector.
pub(crate) fn selectors(query: &Query) -> Result<Vec<Selector>, ApiError> {
    let mut selectors: Vec<Selector> = Vec::new();
    for text in query.all("topic") {
        let selector = Selector::new(text)
            .map_err(|e| ApiError::invalid(ErrorCode::InvalidTopic, format!("`topic`: {e}")))?;
        if !selectors.contains(&selector) {
            selectors.push(selector);
        }
    }
    Ok(selectors)
}

/// What a request presented: an API key (`X-API-Key`, else a Bearer value that is not
/// JWT-shaped, else `apikey=`), a JWT-shaped Bearer value, `token=` (a client token or a JWT)
/// and the JWT cookie named `cookie`. The authenticator decides which counts.
pub(crate) fn credentials<'a>(
    headers: &'a HeaderMap,
    query: &'a Query,
    cookie: &str,
) -> Credentials<'a> {
    let bearer = bearer(headers);
    let (bearer_jwt, bearer_key) = match bearer {
        Some(value) if looks_like_jwt(value) => (Some(value), None),
        other => (None, other),
    };
    let header_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    Credentials {
        api_key: header_key.or(bearer_key).or_else(|| query.get("apikey")),
        client_token: query.get("token"),
        bearer_jwt,
        cookie_jwt: cookie_value(headers, cookie),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())?;
    let (scheme, token) = auth.trim().split_once(' ').unwrap_or((auth, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The value of the cookie `name` (the first one, across every `Cookie` header).
pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Reads a JSON body of at most `--max-body-bytes`, which must arrive within
/// `--body-read-timeout-secs`. An empty body is `None`.
///
/// # Errors
/// 415 when not declared JSON, 413 when too large, 408 when too slow.
async fn json_bytes(
    headers: &HeaderMap,
    body: RequestBody,
    settings: &HttpSettings,
) -> Result<Option<Bytes>, ApiError> {
    let limit = settings.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let read = tokio::time::timeout(
        settings.body_read_timeout,
        Limited::new(body, limit).collect(),
    );
    let Ok(collected) = read.await else {
        return Err(ApiError::BodyTimeout {
            secs: settings.body_read_timeout.as_secs(),
        });
    };
    let bytes: Bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::PayloadTooLarge { limit })
        }
        Err(_) => {
            return Err(ApiError::invalid(
                ErrorCode::BodyUnreadable,
                "the request body could not be read",
            ))
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(Some(bytes))
}

/// Reads a JSON object body of at most `--max-body-bytes`, which must arrive within
/// `--body-read-timeout-secs`. An empty body is `None`.
///
/// # Errors
/// 415 when not declared JSON, 413 when too large, 408 when too slow, 400 when not a JSON
/// object.
pub(crate) async fn json_object(
    headers: &HeaderMap,
    body: RequestBody,
    settings: &HttpSettings,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let Some(bytes) = json_bytes(headers, body, settings).await? else {
        return Ok(None);
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(body_error(BodyError::NotObject)),
        Err(error) => Err(body_error(BodyError::Json(error))),
    }
}

/// A required JSON object body.
///
/// # Errors
/// As [`json_object`], and 400 when the body is empty.
pub(crate) async fn required_object(
    headers: &HeaderMap,
    body: RequestBody,
    settings: &HttpSettings,
) -> Result<Map<String, Value>, ApiError> {
    json_object(headers, body, settings)
        .await?
        .ok_or_else(missing_body)
}

/// The bytes of a required JSON body, for a typed reading ([`typed`]).
///
/// # Errors
/// As [`required_object`], except that the bytes are not read as JSON yet.
pub(crate) async fn required_json(
    headers: &HeaderMap,
    body: RequestBody,
    settings: &HttpSettings,
) -> Result<Bytes, ApiError> {
    json_bytes(headers, body, settings)
        .await?
        .ok_or_else(missing_body)
}

/// A publish body read from `bytes` ([`required_json`]).
///
/// # Errors
/// 400 `invalid_json` or `invalid_body`, worded as [`json_object`] words them.
pub(crate) fn typed<'a, T: Body<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    T::parse(bytes).map_err(body_error)
}

fn missing_body() -> ApiError {
    ApiError::invalid(ErrorCode::MissingBody, "a JSON object body is required")
}

fn body_error(error: BodyError) -> ApiError {
    match error {
        BodyError::NotObject => ApiError::invalid(ErrorCode::InvalidBody, error.to_string()),
        BodyError::Json(error) => ApiError::invalid(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {error}"),
        ),
    }
}

/// Decodes `%XX` escapes of a path segment (`+` stays `+`: that rule is only for queries).
/// `None` for a bad escape, invalid UTF-8 or a NUL.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.contains('\0'))
}

/// A JSON number that is a whole number from 0, written `3` or `3.0` (JSON Schema's
/// "integer"), and exactly representable.
pub(crate) fn whole_number(value: &serde_json::Number) -> Option<u64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=EXACT).contains(f))
            .map(|f| f as u64)
    })
}

/// The client id named in a path segment, percent-decoded and validated.
///
/// # Errors
/// 400 `invalid_client_id`.
pub(crate) fn client_id_segment(segment: &str) -> Result<ClientId, ApiError> {
    let decoded = percent_decode(segment).ok_or_else(|| {
        ApiError::invalid(
            ErrorCode::InvalidClientId,
            "the client id in the path is not valid percent-encoded UTF-8",
        )
    })?;
    ClientId::new(&decoded)
        .map_err(|e| ApiError::invalid(ErrorCode::InvalidClientId, e.to_string()))
}

/// The `clientId` field of a JSON body.
///
/// # Errors
/// 400 `missing_field` when absent, `invalid_client_id` when not a valid id.
pub(crate) fn client_id_field(body: &Map<String, Value>) -> Result<ClientId, ApiError> {
    match body.get("clientId") {
        Some(Value::String(c)) => ClientId::new(c)
            .map_err(|e| ApiError::invalid(ErrorCode::InvalidClientId, e.to_string())),
        None | Some(Value::Null) => Err(ApiError::invalid(
            ErrorCode::MissingField,
            "`clientId` is required",
        )),
        Some(_) => Err(ApiError::invalid(
            ErrorCode::InvalidClientId,
            "`clientId` must be a string",
        )),
    }
}

/// A whole-number body field (`3` or `3.0`): `None` when absent or null.
///
/// # Errors
/// 400 `invalid_field` with `rule` when it is not a whole number that fits.
pub(crate) fn whole_field<T: TryFrom<u64>>(
    body: Option<&Map<String, Value>>,
    name: &str,
    rule: &str,
) -> Result<Option<T>, ApiError> {
    match body.and_then(|b| b.get(name)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => whole_number(n)
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| ApiError::invalid(ErrorCode::InvalidField, rule.to_owned())),
        Some(_) => Err(ApiError::invalid(
            ErrorCode::InvalidField,
            format!("`{name}` must be a number"),
        )),
    }
}

/// The optional `clientId=` of a stream or a history read.
///
/// # Errors
/// 400 `invalid_client_id`.
pub(crate) fn client_id_param(query: &Query) -> Result<Option<ClientId>, ApiError> {
    query
        .get("clientId")
        .map(|c| {
            ClientId::new(c)
                .map_err(|e| ApiError::invalid(ErrorCode::InvalidClientId, e.to_string()))
        })
        .transpose()
}

/// The `filter=` of a stream or a history read. The node checks the count against its limit;
/// parsing is bounded by the header size.
///
/// # Errors
/// 400 `invalid_filter`.
pub(crate) fn filter_param(query: &Query) -> Result<Filter, ApiError> {
    Filter::parse(query.get("filter").unwrap_or(""), usize::MAX)
        .map_err(|e| ApiError::invalid(ErrorCode::InvalidFilter, e.to_string()))
}

/// The parts of a `GET /api/sse/connect` both transports read: client id, filter, positions.
///
/// # Errors
/// 400 with the parameter's code.
pub(crate) fn open_request(parts: &Parts, query: &Query) -> Result<OpenRequest, ApiError> {
    let client_id = client_id_param(query)?;
    let filter = filter_param(query)?;
    // EventSource omits the header when it has no id; an empty one means the same.
    let header_id = parts
        .headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}").trim())
        .filter(|v| !v.is_empty());
    let unnamed = match query.get("named") {
        None | Some("true" | "1") => false,
        Some("false" | "0") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                ErrorCode::InvalidField,
                "`named` must be true, false, 1 or 0",
            ))
        }
    };
    Ok(OpenRequest {
        client_id,
        filter,
        selectors: selectors(query)?,
        unnamed,
        connection: ConnInfo {
            protocol: match parts.version {
                http::Version::HTTP_2 => "h2",
                http::Version::HTTP_10 => "http/1.0",
                _ => "http/1.1",
            },
            tls: parts.extensions.get::<OverTls>().is_some(),
        },
        positions: Requested {
            checkpoint_param: position(query.get("checkpoint"), "checkpoint")?,
            last_event_id_param: position(query.get("lastEventId"), "lastEventId")?,
            last_event_id_header: position(header_id, "Last-Event-ID")?,
        },
    })
}

fn position(text: Option<&str>, name: &str) -> Result<Option<Sequence>, ApiError> {
    text.map(|t| {
        Sequence::parse(t).ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidPosition,
                format!("`{name}` must be a decimal sequence number (0..2^64-1)"),
            )
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_decode_escapes_but_not_plus() {
        assert_eq!(
            percent_decode("alice%40example.com").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(percent_decode("a+b").as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("a%00"), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; ssehub_jwt=x.y.z".parse().unwrap());
        headers.append(header::COOKIE, "ssehub_jwt=later".parse().unwrap());
        assert_eq!(cookie_value(&headers, "ssehub_jwt"), Some("x.y.z"));
        assert_eq!(cookie_value(&headers, "a"), Some("1"));
        assert_eq!(cookie_value(&headers, "b"), None);
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        let number = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        assert_eq!(whole_number(&number("3")), Some(3));
        assert_eq!(whole_number(&number("3.0")), Some(3));
        assert_eq!(whole_number(&number("3.5")), None);
        assert_eq!(whole_number(&number("-1")), None);
        assert_eq!(whole_number(&number("1e300")), None);
    }
}
