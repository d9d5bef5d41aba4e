//! `ekg serve GRAPH --scores DIR`: the investigator's workbench, a read-only web application over
//! a graph and the outputs of `ekg score`, served by this binary (axum on tokio) until interrupted.
//!
//! Pages (`/`, `/node/{id}`, `/ring/{id}`, `/path`) are one embedded single-page application that
//! draws everything from the JSON API under `/api/` (`api.rs`); only the embedded assets are
//! served, so no request path reaches the disk. It binds to 127.0.0.1 unless `--bind` says
//! otherwise, and a non-local bind needs `--token-file`: every request must then carry the token
//! (`Authorization: Bearer …`, or the cookie set by opening `/?token=…` once).

pub mod api;
mod assets;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::cli::ServeArgs;
use crate::exit::{coded, USAGE};
use state::Workbench;

pub fn run(args: &ServeArgs, quiet: bool) -> Result<()> {
    let local = args.bind.is_loopback();
    let token = match &args.token_file {
        Some(path) => Some(read_token(path)?),
        None if local => None,
        None => {
            return Err(coded(USAGE, format!("--bind {} is reachable from other machines: give --token-file", args.bind)));
        }
    };
    let phase = crate::progress::Phase::start(quiet, "opening graph and scores");
    let graph = crate::input::open_graph_shown(&args.graph, &args.load)?;
    if let Some(dir) = &args.scores {
        if !dir.join("manifest.json").is_file() && !dir.join("rings.parquet").is_file() {
            return Err(coded(crate::exit::NO_INPUT, format!("{}: not an ekg score output (no manifest.json)", dir.display())));
        }
    }
    let bench = Workbench::load(graph, args.scores.as_deref())?;
    phase.finish();
    let app = router(Arc::new(bench), token);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_io().build().context("cannot start the HTTP runtime")?;
    runtime.block_on(async move {
        let address = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| coded(crate::exit::CANT_CREATE, format!("cannot listen on {address}: {e}")))?;
        let shown = listener.local_addr().unwrap_or(address);
        println!("ekg serve: http://{shown}/ (Ctrl-C stops)");
        axum::serve(listener, app).await.context("the HTTP server stopped")
    })
}

fn read_token(path: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| coded(crate::exit::NO_INPUT, format!("cannot read {}: {e}", path.display())))?;
    let token = text.trim().to_string();
    if token.len() < 16 {
        return Err(coded(USAGE, format!("{}: the token must be at least 16 characters", path.display())));
    }
    Ok(token)
}

/// Every route of the workbench.
pub fn router(bench: Arc<Workbench>, token: Option<String>) -> Router {
    let api = Router::new()
        .route("/meta", get(api::meta))
        .route("/alerts", get(api::alerts))
        .route("/rings", get(api::rings))
        .route("/search", get(api::search))
        .route("/node/{id}", get(api::node))
        .route("/ring/{id}", get(api::ring))
        .route("/neighborhood", get(api::neighborhood))
        .route("/path", get(api::path))
        .fallback(|| async { api::ApiError::not_found("no such API route") });
    let app = Router::new()
        .route("/", get(assets::page))
        .route("/node/{id}", get(assets::page))
        .route("/ring/{id}", get(assets::page))
        .route("/path", get(assets::page))
        .route("/assets/{file}", get(assets::asset))
        .nest("/api", api)
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .with_state(bench);
    match token {
        Some(token) => app.layer(axum::middleware::from_fn_with_state(Arc::new(token), require_token)),
        None => app,
    }
}

const COOKIE: &str = "ekg_token";

/// With a token: a request passes with it in `Authorization` or the cookie; `?token=` sets the
/// cookie and drops the token from the address bar.
async fn require_token(State(token): State<Arc<String>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE).and_then(|c| c.strip_prefix('=')))
        .any(|c| constant_time_eq(c, &token));
    if cookie || bearer.is_some_and(|b| constant_time_eq(b, &token)) {
        return next.run(request).await;
    }
    let query_token = request.uri().query().into_iter().flat_map(|q| q.split('&')).find_map(|p| p.strip_prefix("token="));
    if query_token.is_some_and(|t| constant_time_eq(t, &token)) {
        let mut response = Redirect::to(request.uri().path()).into_response();
        if let Ok(value) = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/").parse() {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return response;
    }
    (StatusCode::UNAUTHORIZED, "a token is required: open /?token=… or send Authorization: Bearer …").into_response()
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
