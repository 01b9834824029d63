//! The web UI: the single-page app built from `host/ui` (vite), embedded in
//! the binary when it is compiled, served at every path that is not the API,
//! a hook, `/healthz` or `/metrics`.
//!
//! Files under `/assets/` have content hashes in their names and are cached
//! for a year; the app's own pages (`/`, `/flows…`, `/new-flow`, `/runs…`, `/plugins`,
//! `/connections`) answer `index.html` (the app routes in the browser), never
//! cached; any other path is a JSON 404 like the API's. A file built with a `.gz` twin is sent compressed
//! to clients that accept gzip. A binary built before the UI was serves the
//! API as always and answers `/` with one line on how to build the UI.
//!
//! Every answer carries a strict Content-Security-Policy (scripts and styles
//! from this origin only, no inline script, no framing): step data, logs and
//! manifests that plugins wrote are shown as text by the app, and the policy
//! stops script even if some were ever rendered as HTML.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "$CARGO_MANIFEST_DIR/../ui/dist/"]
#[allow_missing = true]
struct Assets;

/// The policy every UI and API answer carries.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// What `/` says when the binary was built without the UI.
pub(crate) const NOT_BUILT: &str = "weft's web UI is not built into this binary: run `cargo xtask ui` and build weft again \
     (`cargo xtask demo` does both); the admin API is at /api/\n";

/// The first path segments the app routes in the browser.
const APP_PAGES: [&str; 5] = ["flows", "runs", "plugins", "connections", "new-flow"];

/// Whether this binary has the UI.
pub fn built() -> bool {
    Assets::get("index.html").is_some()
}

/// The headers that keep a browser strict about what it loads and shows.
pub(crate) fn secure_headers(headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
}

/// Answer a GET for `uri` from the embedded app.
pub(crate) fn serve(method: &Method, uri: &Uri, request_headers: &HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let mut response = if !built() {
        if path.is_empty() {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], NOT_BUILT).into_response()
        } else {
            super::ApiError::not_found(format!("there is nothing at {method} {}", uri.path())).into_response()
        }
    } else {
        let page = path.split('/').next().unwrap_or_default();
        let (name, immutable) = match Assets::get(path) {
            Some(_) if !path.is_empty() => (path, path.starts_with("assets/")),
            // A page the app routes (`/runs/…`): the app's page.
            _ if path.is_empty() || APP_PAGES.contains(&page) => ("index.html", false),
            _ => {
                let mut response =
                    super::ApiError::not_found(format!("there is nothing at {method} {}", uri.path())).into_response();
                secure_headers(response.headers_mut());
                return response;
            }
        };
        file(name, immutable, accepts_gzip(request_headers))
    };
    secure_headers(response.headers_mut());
    if method == Method::HEAD {
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "gzip"))
}

fn file(name: &str, immutable: bool, gzip: bool) -> Response {
    let Some(plain) = Assets::get(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = plain.metadata.mimetype().to_string();
    let compressed = if gzip { Assets::get(&format!("{name}.gz")) } else { None };
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = match compressed {
        Some(gz) => {
            let mut r = gz.data.into_owned().into_response();
            r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => plain.data.into_owned().into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, gzip: bool) -> Response {
        let mut headers = HeaderMap::new();
        if gzip {
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        }
        serve(&Method::GET, &path.parse().unwrap(), &headers)
    }

    /// With the UI, app paths get the app's page and assets are cached; without
    /// it, `/` says how to build it. Either way the policy is on every answer.
    #[test]
    fn the_app_or_how_to_build_it() {
        let root = get("/", false);
        assert!(root.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
        assert_eq!(root.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        if !built() {
            assert_eq!(root.status(), StatusCode::OK);
            assert!(root.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
            assert_eq!(get("/runs/x", false).status(), StatusCode::NOT_FOUND);
            return;
        }
        assert!(root.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert_eq!(root.headers()[header::CACHE_CONTROL], "no-cache");
        let page = get("/runs/0123", true);
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_ENCODING], "gzip");
        let asset = Assets::iter().find(|f| f.starts_with("assets/") && f.ends_with(".js")).unwrap();
        let js = get(&format!("/{asset}"), false);
        assert!(js.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
        assert!(js.headers().get(header::CONTENT_ENCODING).is_none(), "plain for clients without gzip");
        assert_eq!(get("/assets/missing.js", false).status(), StatusCode::NOT_FOUND);
        let elsewhere = get("/nowhere", false);
        assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND, "only the app's pages are the app");
        assert!(elsewhere.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    }
}
