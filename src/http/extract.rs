//! Reading requests: query parameters, the API key, JSON bodies within the size limit.

use bytes::Bytes;
use http::{header, HeaderMap, Request};

use crate::auth::{KeyRing, Scope};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Checks the key a request presents (header, bearer or `apikey=`) against `scope`.
///
/// # Errors
/// 401 without a valid key, 403 when its scope is too narrow.
pub fn authorize(req: &Request<Incoming>, keys: &KeyRing, scope: Scope) -> Result<Scope, ApiError> {
    let query = Query::parse(req.uri().query());
    Ok(keys.authorize(api_key(req.headers(), &query), scope)?)
}

/// Decoded query parameters, first occurrence wins.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The API key: `X-API-Key`, else `Authorization: Bearer`, else `apikey=`.
pub fn api_key<'a>(headers: &'a HeaderMap, query: &'a Query) -> Option<&'a str> {
    if let Some(key) = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        return Some(key);
    }
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = auth.trim().split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(token.trim());
        }
    }
    query.get("apikey")
}

/// Reads a JSON object body of at most `limit` bytes. An empty body is `None`.
///
/// # Errors
/// 415 when not declared JSON, 413 when too large, 400 when not a JSON object.
pub async fn json_object(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let bytes: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::PayloadTooLarge { limit })
        }
        Err(_) => {
            return Err(ApiError::bad_request(
                "body_unreadable",
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
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(ApiError::bad_request(
            "invalid_body",
            "the body must be a JSON object",
        )),
        Err(error) => Err(ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON: {error}"),
        )),
    }
}

/// A required JSON object body.
///
/// # Errors
/// As [`json_object`], and 400 when the body is empty.
pub async fn required_object(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Map<String, Value>, ApiError> {
    json_object(headers, body, limit)
        .await?
        .ok_or_else(|| ApiError::bad_request("missing_body", "a JSON object body is required"))
}

/// Typed access to body fields with clear messages.
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl Fields<'_> {
    /// A required non-empty string.
    pub fn text(&self, name: &str, max: usize) -> Result<String, ApiError> {
        self.optional_text(name, max)?
            .ok_or_else(|| ApiError::bad_request("missing_field", format!("`{name}` is required")))
    }

    /// An optional non-empty string (absent or null → `None`).
    pub fn optional_text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Err(ApiError::bad_request(
                "invalid_field",
                format!("`{name}` must not be empty"),
            )),
            Some(Value::String(s)) if s.chars().count() > max => Err(ApiError::bad_request(
                "invalid_field",
                format!("`{name}` must be at most {max} characters"),
            )),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_request(
                "invalid_field",
                format!("`{name}` must be a string"),
            )),
        }
    }
}

/// Decodes `%XX` escapes of a path segment (`+` stays `+`: that rule is only for queries).
/// `None` for a bad escape, invalid UTF-8 or a NUL.
pub fn percent_decode(text: &str) -> Option<String> {
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
pub fn whole_number(value: &serde_json::Number) -> Option<u64> {
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
pub fn client_id_segment(segment: &str) -> Result<crate::event::ClientId, ApiError> {
    let decoded = percent_decode(segment).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_client_id",
            "the client id in the path is not valid percent-encoded UTF-8",
        )
    })?;
    crate::event::ClientId::new(&decoded)
        .map_err(|e| ApiError::bad_request("invalid_client_id", e.to_string()))
}

/// The `clientId` field of a JSON body.
///
/// # Errors
/// 400 `missing_field` when absent, `invalid_client_id` when not a valid id.
pub fn client_id_field(body: &Map<String, Value>) -> Result<crate::event::ClientId, ApiError> {
    match body.get("clientId") {
        Some(Value::String(c)) => crate::event::ClientId::new(c)
            .map_err(|e| ApiError::bad_request("invalid_client_id", e.to_string())),
        None | Some(Value::Null) => Err(ApiError::bad_request(
            "missing_field",
            "`clientId` is required",
        )),
        Some(_) => Err(ApiError::bad_request(
            "invalid_client_id",
            "`clientId` must be a string",
        )),
    }
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
    fn whole_numbers_may_be_written_as_floats() {
        let number = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        assert_eq!(whole_number(&number("3")), Some(3));
        assert_eq!(whole_number(&number("3.0")), Some(3));
        assert_eq!(whole_number(&number("3.5")), None);
        assert_eq!(whole_number(&number("-1")), None);
        assert_eq!(whole_number(&number("1e300")), None);
    }
}
