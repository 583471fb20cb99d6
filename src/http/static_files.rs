//! The SPA: files under `--static-dir`, with `index.html` for client-side routes. Every path
//! is resolved (symlinks included) and must stay inside the canonical root, or it is 404.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use http::{header, HeaderValue, Response};

use super::error::ApiError;
use super::HubBody;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file a request path names inside `root`, refusing anything that climbs out of it.
fn resolve(root: &Path, request_path: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for part in Path::new(request_path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(name) => path.push(name),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(path)
}

/// The file itself, if it exists inside `root` once every symlink is resolved.
async fn confined(root: &Path, file: &Path) -> Option<(PathBuf, Vec<u8>)> {
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let mut real = tokio::fs::canonicalize(file).await.ok()?;
    if tokio::fs::metadata(&real).await.ok()?.is_dir() {
        real = tokio::fs::canonicalize(real.join("index.html"))
            .await
            .ok()?;
    }
    if !real.starts_with(&root) {
        return None;
    }
    let bytes = tokio::fs::read(&real).await.ok()?;
    Some((real, bytes))
}

pub(crate) async fn serve(
    root: Option<&Path>,
    request_path: &str,
    head_only: bool,
) -> Result<Response<HubBody>, ApiError> {
    let root = root.ok_or(ApiError::NotFound)?;
    let decoded = super::request::percent_decode(request_path).ok_or(ApiError::NotFound)?;
    let file = resolve(root, &decoded).ok_or(ApiError::NotFound)?;
    let (file, bytes, fallback) = match confined(root, &file).await {
        Some((file, bytes)) => (file, bytes, false),
        // A path without an extension is a client-side route: the SPA handles it.
        None if Path::new(&decoded).extension().is_none() => {
            let (index, bytes) = confined(root, &root.join("index.html"))
                .await
                .ok_or(ApiError::NotFound)?;
            (index, bytes, true)
        }
        None => return Err(ApiError::NotFound),
    };
    let length = bytes.len();
    let body = if head_only {
        HubBody::empty()
    } else {
        HubBody::full(Bytes::from(bytes))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    // Vite fingerprints every file under assets/; the entry page (also when it answers a
    // client-side route) must always be fresh.
    let cache = if decoded.starts_with("/assets/") && !fallback {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_climb_out_of_the_root() {
        let root = Path::new("/srv/spa");
        assert_eq!(
            resolve(root, "/assets/app.js"),
            Some(PathBuf::from("/srv/spa/assets/app.js"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../b"), None);
        assert_eq!(
            super::super::request::percent_decode("/%2e%2e/x").as_deref(),
            Some("/../x")
        );
    }
}
