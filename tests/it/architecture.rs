//! The binary crate's shape, checked on its source (ARCHITECTURE.md, "Architecture invariants"):
//! its modules import one another in one direction only (no cycle among the top-level modules of
//! `src/`, nor among the files of one folder), and no function is longer than 150 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FUNCTION_LINES: usize = 150;

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The names following `prefix` in `text` (`crate::score::x` → `score` for prefix `crate::`).
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .filter(|(at, _)| !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, _)| text[at + prefix.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
        .filter(|name| !name.is_empty())
        .collect()
}

/// A cycle in `edges`, if any (depth-first, in name order so the report is stable).
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| p == node).unwrap_or(0);
                let mut found = path[start..].to_vec();
                found.push(node.to_string());
                return Some(found);
            }
            _ => {}
        }
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, state, path) {
                return Some(found);
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    edges.keys().find_map(|k| visit(k, edges, &mut state, &mut Vec::new()))
}

/// Module name → the sibling modules its files name, for the modules directly in `dir`.
fn module_edges(dir: &Path, prefixes: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("folder").flatten() {
        let path = entry.path();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if name == "main" || name == "mod" || name == "lib" {
            continue;
        }
        let text = if path.is_dir() {
            rust_files(&path).iter().map(|f| std::fs::read_to_string(f).unwrap_or_default()).collect::<String>()
        } else if path.extension().is_some_and(|e| e == "rs") {
            std::fs::read_to_string(&path).unwrap_or_default()
        } else {
            continue;
        };
        modules.insert(name, text);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(name, text)| {
            let used: BTreeSet<String> =
                prefixes.iter().flat_map(|p| referenced(text, p)).filter(|m| names.contains(m) && m != name).collect();
            (name.clone(), used)
        })
        .collect()
}

#[test]
fn modules_of_src_import_each_other_in_one_direction() {
    let top = module_edges(&src(), &["crate::".to_string()]);
    assert!(top.contains_key("score") && top.contains_key("commands"), "{top:?}");
    assert_eq!(cycle(&top), None, "top-level modules of src/ import each other");
    // Within each folder, files naming their siblings (`super::x`, `crate::folder::x`).
    for file in rust_files(&src()) {
        let dir = file.parent().expect("parent");
        if dir == src() || file.file_name().is_some_and(|f| f != "mod.rs") {
            continue;
        }
        let folder = dir.strip_prefix(src()).expect("inside src").to_string_lossy().replace('/', "::");
        let edges = module_edges(dir, &["super::".to_string(), format!("crate::{folder}::")]);
        assert_eq!(cycle(&edges), None, "modules of src/{folder} import each other");
    }
}

#[test]
fn a_cycle_is_found_where_there_is_one() {
    let edges: BTreeMap<String, BTreeSet<String>> = [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec![])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
        .collect();
    assert_eq!(cycle(&edges), Some(vec!["a".to_string(), "b".to_string(), "c".to_string(), "a".to_string()]));
    assert_eq!(referenced("use crate::score::x; let y = crate::cases::queue();", "crate::"), ["cases", "score"].map(String::from).into());
}

/// Functions are counted from their `fn` line to the closing brace at the same indentation, as
/// rustfmt writes them.
#[test]
fn no_function_in_src_is_longer_than_150_lines() {
    let mut long = Vec::new();
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).expect("source");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let is_fn =
                ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn ", "async fn ", "const fn "].iter().any(|p| trimmed.starts_with(p));
            if !is_fn || trimmed.ends_with(';') {
                continue;
            }
            let indent = &line[..line.len() - trimmed.len()];
            let close = format!("{indent}}}");
            let Some(end) = lines[i..].iter().position(|l| *l == close) else { continue };
            if end + 1 > MAX_FUNCTION_LINES {
                long.push(format!("{}:{} {} lines", file.strip_prefix(src()).unwrap_or(&file).display(), i + 1, end + 1));
            }
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FUNCTION_LINES} lines: {long:?}");
}
