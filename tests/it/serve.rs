//! `ekg serve` over HTTP: every route of the JSON API and the pages, the errors (404 with a
//! message for an unknown id, 400 for a bad query), the token, and the personal-data policy.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{ekg, sample, text};

/// A running `ekg serve`, stopped when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ekg"))
        .args(["serve", &sample(), "--port", "0", "--quiet"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ekg serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a line");
    let address = line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default().to_string();
    assert!(!address.is_empty(), "no URL in {line:?}");
    Server { child, address }
}

/// (status, headers, body) of a GET with extra header lines.
fn get_with(server: &Server, path: &str, headers: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(&server.address).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{headers}\r\n", server.address).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
    (status, head.to_string(), body.to_string())
}

fn get(server: &Server, path: &str) -> (u16, Value) {
    let (status, _, body) = get_with(server, path, "");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn ok(server: &Server, path: &str) -> Value {
    let (status, body) = get(server, path);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn error_of(server: &Server, path: &str, expected: u16) -> String {
    let (status, body) = get(server, path);
    assert_eq!(status, expected, "{path}: {body}");
    let message = body["error"].as_str().unwrap_or_default().to_string();
    assert!(message.len() > 5, "{path}: no message in {body}");
    message
}

fn scores(dir: &std::path::Path) -> String {
    let out = dir.join("scores");
    let result = ekg(&["score", &sample(), "--out", out.to_str().unwrap_or_default()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    out.display().to_string()
}

#[test]
fn every_route_answers_and_bad_requests_say_why() {
    let dir = tempfile::tempdir().expect("temp");
    let server = serve(&["--scores", &scores(dir.path())]);

    // Pages and assets.
    for page in ["/", "/node/x", "/ring/1", "/path", "/assets/app.js", "/assets/app.css", "/assets/cytoscape.min.js"] {
        let (status, _, body) = get_with(&server, page, "");
        assert_eq!(status, 200, "{page}");
        assert!(body.len() > 100, "{page}");
    }
    for missing in ["/assets/nope.js", "/assets/..%2FCargo.toml", "/nowhere"] {
        assert_eq!(get_with(&server, missing, "").0, 404, "{missing}");
    }

    // The queue: most severe first; a kind filter keeps that kind only; counts add up.
    let alerts = ok(&server, "/api/alerts?limit=1000");
    let items = alerts["items"].as_array().cloned().unwrap_or_default();
    assert!(!items.is_empty());
    let rank = |s: &Value| ["high", "medium", "low"].iter().position(|x| Some(*x) == s.as_str()).unwrap_or(3);
    assert!(items.windows(2).all(|w| rank(&w[0]["severity"]) <= rank(&w[1]["severity"])), "not most severe first");
    let by_kind: u64 = alerts["counts"]["kind"].as_object().map(|m| m.values().filter_map(Value::as_u64).sum()).unwrap_or(0);
    assert_eq!(Some(by_kind), alerts["total"].as_u64());
    let cycles = ok(&server, "/api/alerts?kind=fund_cycle");
    assert!(cycles["items"].as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|i| i["flag"] == "fund_cycle")));
    let region = items.iter().find_map(|i| i["region"].as_str()).unwrap_or_default().to_string();
    let regional = ok(&server, &format!("/api/alerts?region={region}"));
    assert!(regional["items"].as_array().is_some_and(|a| a.iter().all(|i| i["region"] == region.as_str())));

    // Rings, highest score first, and one ring with its drawing.
    let rings = ok(&server, "/api/rings?limit=10");
    let scores: Vec<f64> = rings["items"].as_array().into_iter().flatten().filter_map(|r| r["score"].as_f64()).collect();
    assert!(!scores.is_empty() && scores.windows(2).all(|w| w[0] >= w[1]));
    let ring_id = rings["items"][0]["ring_id"].as_str().unwrap_or_default().to_string();
    let ring = ok(&server, &format!("/api/ring/{ring_id}"));
    assert_eq!(ring["members"].as_array().map(Vec::len), ring["elements"]["nodes"].as_array().map(Vec::len));
    assert_eq!(ring["evidence"].as_array().map(Vec::len), ring["elements"]["edges"].as_array().map(Vec::len));
    assert!(ring["why"].as_str().is_some_and(|w| !w.is_empty()));

    // An entity: who it is, its flags, its features by theme with their meanings.
    let flagged = items.iter().find(|i| i["entity_kind"] == "firm").cloned().unwrap_or(Value::Null);
    let firm = flagged["node_id"].as_str().unwrap_or_default().to_string();
    let node = ok(&server, &format!("/api/node/{firm}"));
    assert_eq!(node["kind"], "firm");
    assert!(node["name"].is_string());
    assert!(node["flags"].as_array().is_some_and(|f| f.iter().any(|x| x["flag"] == flagged["flag"])));
    let themes = node["features"].as_array().cloned().unwrap_or_default();
    assert!(themes.len() >= 4, "{themes:?}");
    assert!(themes.iter().flat_map(|t| t["items"].as_array().cloned().unwrap_or_default()).all(|f| f["description"].is_string()));
    // Officers and holders are persons: shown by pseudonym, never by their identity number.
    for list in node["counterparties"].as_array().into_iter().flatten() {
        for p in list["top"].as_array().into_iter().flatten() {
            if p["kind"] == "person" {
                assert!(p["id"].as_str().is_some_and(|id| id.starts_with("p:")), "{p}");
            }
        }
    }

    // Search: the id, an id prefix, a name prefix.
    let found = |q: &str| -> Vec<String> {
        let r = ok(&server, &format!("/api/search?q={q}"));
        r["results"].as_array().into_iter().flatten().filter_map(|x| x["id"].as_str().map(str::to_string)).collect()
    };
    assert_eq!(found(&firm).first(), Some(&firm));
    assert!(found(&firm[..firm.len() - 2]).contains(&firm));
    let name = node["name"].as_str().unwrap_or_default();
    let prefix: String = name.chars().take(8).collect::<String>().replace(' ', "%20");
    assert!(!found(&prefix).is_empty());

    // Neighbourhood and paths.
    let around = ok(&server, &format!("/api/neighborhood?id={firm}&hops=2"));
    let nodes = around["elements"]["nodes"].as_array().cloned().unwrap_or_default();
    assert!(nodes.iter().any(|n| n["data"]["id"] == firm.as_str() && n["data"]["centre"] == true));
    let evidence = &ring["evidence"][0];
    let (a, b) = (evidence["src"].as_str().unwrap_or_default(), evidence["dst"].as_str().unwrap_or_default());
    let path = ok(&server, &format!("/api/path?from={a}&to={b}"));
    assert_eq!(path["hops"], 1, "{path}");

    // Errors.
    assert!(error_of(&server, "/api/node/NO-SUCH-FIRM", 404).contains("no entity"));
    assert!(error_of(&server, "/api/ring/0000000000000", 404).contains("no ring"));
    error_of(&server, "/api/ring/abc", 400);
    error_of(&server, &format!("/api/neighborhood?id={firm}&hops=9"), 400);
    error_of(&server, &format!("/api/neighborhood?id={firm}&relations=bogus"), 400);
    error_of(&server, "/api/neighborhood", 400);
    error_of(&server, "/api/search", 400);
    error_of(&server, "/api/alerts?limit=0", 400);
    error_of(&server, "/api/alerts?severity=urgent", 400);
    error_of(&server, &format!("/api/path?from={firm}"), 400);
    error_of(&server, &format!("/api/path?from={firm}&to=NOBODY"), 404);
    error_of(&server, "/api/nowhere", 404);
}

#[test]
fn a_token_guards_every_route_and_a_public_bind_needs_one() {
    let out = ekg(&["serve", &sample(), "--bind", "0.0.0.0", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--token-file"), "{}", text(&out.stderr));

    let dir = tempfile::tempdir().expect("temp");
    let token_file = dir.path().join("token");
    let token = "s3cret-token-of-the-team";
    std::fs::write(&token_file, format!("{token}\n")).expect("write");
    let server = serve(&["--token-file", token_file.to_str().unwrap_or_default()]);
    assert_eq!(get_with(&server, "/api/meta", "").0, 401);
    assert_eq!(get_with(&server, "/", "").0, 401);
    assert_eq!(get_with(&server, "/api/meta", "Authorization: Bearer wrong-token-of-the-team\r\n").0, 401);
    assert_eq!(get_with(&server, "/api/meta", &format!("Authorization: Bearer {token}\r\n")).0, 200);
    let (status, head, _) = get_with(&server, &format!("/?token={token}"), "");
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("ekg_token=") && head.contains("HttpOnly"), "{head}");
    assert_eq!(get_with(&server, "/api/meta", &format!("Cookie: ekg_token={token}\r\n")).0, 200);
}

/// Scores made with `--previous`: the queue says what is new since the previous night and
/// filters on it.
#[test]
fn the_queue_shows_what_is_new_since_the_previous_night() {
    let dir = tempfile::tempdir().expect("temp");
    let (before, tonight) = (dir.path().join("before"), dir.path().join("tonight"));
    let result = ekg(&["score", &sample(), "--out", before.to_str().unwrap_or_default(), "--as-of", "2025-06-30"]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let result =
        ekg(&["score", &sample(), "--out", tonight.to_str().unwrap_or_default(), "--previous", before.to_str().unwrap_or_default()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let server = serve(&["--scores", tonight.to_str().unwrap_or_default()]);
    let all = ok(&server, "/api/alerts?limit=1000");
    let counts = all["counts"]["change"].as_object().cloned().unwrap_or_default();
    let count = |c: &str| counts.get(c).and_then(Value::as_u64).unwrap_or(0);
    assert!(count("new") > 0 && count("unchanged") > 0, "{counts:?}");
    assert_eq!(counts.values().filter_map(Value::as_u64).sum::<u64>(), all["total"].as_u64().unwrap_or(0), "every alert has a change");
    let new = ok(&server, "/api/alerts?change=new&limit=1000");
    assert_eq!(new["total"].as_u64(), Some(count("new")));
    assert!(new["items"].as_array().is_some_and(|items| !items.is_empty() && items.iter().all(|i| i["change"] == "new")));
}
