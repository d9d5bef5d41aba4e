//! The workbench's files, embedded in the binary: the page, its script and style, and
//! cytoscape.js (MIT, from the npm registry by `web/vendor.sh`). Nothing else is served.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("assets/index.html");

/// (name, content type, bytes)
const ASSETS: [(&str, &str, &[u8]); 4] = [
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("assets/app.css")),
    ("cytoscape.min.js", "text/javascript; charset=utf-8", include_bytes!("assets/vendor/cytoscape.min.js")),
    ("cytoscape.LICENSE.txt", "text/plain; charset=utf-8", include_bytes!("assets/vendor/cytoscape.LICENSE")),
];

/// Every page is the one application; it reads the address and draws the page.
pub async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], INDEX).into_response()
}

pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => ([(header::CONTENT_TYPE, *content_type)], *bytes).into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
