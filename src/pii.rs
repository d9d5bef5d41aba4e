//! The personal-data policy of `ekg_schema::pii`, applied: keyed pseudonyms for the values it
//! names, in a snapshot (`ekg build --pseudonymize KEYFILE`, for sharing) or in every output of a
//! run (the default; `--reveal-pii` shows the values).
//!
//! A pseudonym is HMAC-SHA256(key, domain ‖ 0 ‖ value), first 128 bits in hex: a plain hash of
//! an ID number or phone number is brute-forceable (the space is small); without the key a digest
//! reveals nothing. The same key gives the same pseudonyms in every table, page and night, so
//! joins keep working and equal values stay equal. Person names are dropped; a sole proprietor's
//! firm name (the owner's) is replaced.
//!
//! The key of a run's outputs is `--pii-key FILE`, else the file named by `EKG_PII_KEY_FILE`,
//! else `~/.config/ekg/pii.key`, created once with 32 random bytes (mode 0600).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ekg_schema::pii::{is_personal_identifier, is_personal_node, is_sole_proprietor};
use ekg_schema::{Graph, NodeId, NodeKind};
use hmac::{Hmac, KeyInit, Mac};
use rayon::prelude::*;
use sha2::Sha256;

use crate::exit::{coded, CANT_CREATE, USAGE};

/// Keys shorter than this are refused (HMAC-SHA256 wants 32 bytes; 16 is the floor).
const MIN_KEY_BYTES: usize = 16;
/// Digest bytes kept: 128 bits, collision-free at any realistic scale (checked anyway).
const KEPT_BYTES: usize = 16;

/// Which values a pseudonymisation covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A snapshot to share outside the bank: every identifier value, addresses included.
    Share,
    /// A run's outputs for investigators: personal values; addresses stay readable.
    Outputs,
}

pub struct Pseudonymizer {
    /// Keyed once; cloned per digest.
    mac: Hmac<Sha256>,
}

impl Pseudonymizer {
    pub fn from_file(path: &Path) -> Result<Pseudonymizer> {
        let key = std::fs::read(path).with_context(|| format!("cannot read key file {}", path.display()))?;
        if key.len() < MIN_KEY_BYTES {
            return Err(coded(
                USAGE,
                format!("{}: a key of {} bytes; at least {MIN_KEY_BYTES} (e.g. head -c 32 /dev/urandom)", path.display(), key.len()),
            ));
        }
        Pseudonymizer::new(&key)
    }

    pub fn new(key: &[u8]) -> Result<Pseudonymizer> {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|e| coded(USAGE, format!("pseudonymisation key: {e}")))?;
        Ok(Pseudonymizer { mac })
    }

    /// Hex of HMAC-SHA256(key, domain ‖ 0 ‖ value), first 128 bits.
    pub fn digest(&self, domain: &str, value: &str) -> String {
        let mut hex = String::with_capacity(2 * KEPT_BYTES);
        self.push_digest(domain, value, &mut hex);
        hex
    }

    /// Appends [`Pseudonymizer::digest`] to `out` (no allocation: millions of values are renamed).
    pub fn push_digest(&self, domain: &str, value: &str, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        for &b in &mac.finalize().into_bytes()[..KEPT_BYTES] {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }

    /// A short public name of the key (not the key): which key made a run's pseudonyms.
    pub fn fingerprint(&self) -> String {
        self.digest("fingerprint", "")[..12].to_string()
    }

    /// Rewrites the graph's personal values in place: ids of persons (`p:…`) and of accounts
    /// held by persons (`a:…`), identifier values within `scope`, sole proprietors' names.
    /// Values that already are pseudonyms (a snapshot built with `--pseudonymize`) are kept.
    pub fn apply(&self, graph: &mut Graph, scope: Scope) -> Result<()> {
        // Decided before the ids change: whether an account is personal depends on its owners.
        let personal: Vec<bool> = (0..graph.node_count() as u32).into_par_iter().map(|v| is_personal_node(graph, NodeId(v))).collect();
        let persons = graph.kind_range(NodeKind::Person);
        graph.rename_nodes(|node, id, out| {
            if !personal[node.index()] || is_pseudonym(id) {
                out.push_str(id);
                return;
            }
            let (prefix, domain) = if persons.contains(&node.0) { ("p:", "person") } else { ("a:", "account") };
            out.push_str(prefix);
            self.push_digest(domain, id, out);
        })?;
        graph.rename_identifier_values(|kind, text, out| {
            if (scope == Scope::Share || is_personal_identifier(kind)) && !is_digest(text) {
                self.push_digest(kind.as_str(), text, out);
            } else {
                out.push_str(text);
            }
        })?;
        let firm_ids: Vec<bool> =
            (0..graph.kind_count(NodeKind::Firm) as u32).map(|f| is_sole_proprietor(graph.external_id(NodeId(f)))).collect();
        graph.rename_firm_names(|f, name| {
            (firm_ids[f as usize] && !name.is_empty()).then(|| format!("sole proprietor {}", &self.digest("firm_name", name)[..12]))
        });
        Ok(())
    }
}

fn is_digest(text: &str) -> bool {
    text.len() == 2 * KEPT_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_pseudonym(id: &str) -> bool {
    matches!(id.split_once(':'), Some(("p" | "a", digest)) if is_digest(digest))
}

/// How a run shows personal values in its outputs.
pub struct PiiPolicy {
    /// None: shown as they are (`--reveal-pii`).
    pseudonymizer: Option<Pseudonymizer>,
}

impl PiiPolicy {
    /// `reveal`: values in full; otherwise pseudonyms under the key of `key_file` (or the
    /// default key, created on first use).
    pub fn new(reveal: bool, key_file: Option<&Path>) -> Result<PiiPolicy> {
        if reveal {
            return Ok(PiiPolicy { pseudonymizer: None });
        }
        let path = match key_file {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os("EKG_PII_KEY_FILE") {
                Some(p) => PathBuf::from(p),
                None => default_key()?,
            },
        };
        Ok(PiiPolicy { pseudonymizer: Some(Pseudonymizer::from_file(&path)?) })
    }

    /// Applies the policy to the graph whose ids and values the outputs will print.
    pub fn apply(&self, graph: &mut Graph) -> Result<()> {
        match &self.pseudonymizer {
            Some(p) => p.apply(graph, Scope::Outputs),
            None => Ok(()),
        }
    }

    /// How the outputs show the id of a node: a personal node's (person, personal account) as
    /// its pseudonym, as [`PiiPolicy::apply`] renames it.
    pub fn shown_id(&self, kind: NodeKind, personal: bool, id: &str) -> String {
        match &self.pseudonymizer {
            Some(p) if personal && !is_pseudonym(id) => {
                let (prefix, domain) = if kind == NodeKind::Person { ("p", "person") } else { ("a", "account") };
                format!("{prefix}:{}", p.digest(domain, id))
            }
            _ => id.to_string(),
        }
    }

    /// For the manifest: whether values are shown, and which key made the pseudonyms.
    pub fn describe(&self) -> serde_json::Value {
        match &self.pseudonymizer {
            Some(p) => serde_json::json!({"personal_values": "pseudonymised", "key_fingerprint": p.fingerprint()}),
            None => serde_json::json!({"personal_values": "revealed"}),
        }
    }
}

/// The run's flags (`--reveal-pii`, `--pii-key`), set once by `main`.
static SETTINGS: std::sync::OnceLock<(bool, Option<PathBuf>)> = std::sync::OnceLock::new();
/// The policy, made on first use (so commands that print no ids never create a key).
static POLICY: std::sync::OnceLock<std::result::Result<PiiPolicy, String>> = std::sync::OnceLock::new();

pub fn configure(reveal: bool, key_file: Option<PathBuf>) {
    let _ = SETTINGS.set((reveal, key_file));
}

/// The policy of this run.
pub fn policy() -> Result<&'static PiiPolicy> {
    let made = POLICY.get_or_init(|| {
        let (reveal, key) = SETTINGS.get().cloned().unwrap_or((false, None));
        PiiPolicy::new(reveal, key.as_deref()).map_err(|e| crate::exit::describe(&e))
    });
    made.as_ref().map_err(|message| coded(USAGE, message.clone()))
}

/// The node a user names, by its id as the input has it or as the outputs show it: after the
/// policy renamed a person `110105…` to `p:3fa2…`, either finds it.
pub fn lookup(graph: &Graph, id: &str) -> Option<NodeId> {
    let id = id.trim();
    graph.lookup(id).or_else(|| {
        let p = policy().ok()?.pseudonymizer.as_ref()?;
        graph.lookup(&format!("p:{}", p.digest("person", id))).or_else(|| graph.lookup(&format!("a:{}", p.digest("account", id))))
    })
}

/// `~/.config/ekg/pii.key` (or under `$XDG_CONFIG_HOME`), created with 32 random bytes the
/// first time; concurrent first runs agree on one key.
fn default_key() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| coded(USAGE, "no key for pseudonyms: pass --pii-key FILE, set EKG_PII_KEY_FILE, or --reveal-pii"))?;
    let dir = base.join("ekg");
    let path = dir.join("pii.key");
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).map_err(|e| coded(CANT_CREATE, format!("cannot create {}: {e}", dir.display())))?;
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| coded(CANT_CREATE, format!("cannot draw a key for {}: {e}", path.display())))?;
    // Written whole under a temporary name, then linked into place: a concurrent first run sees
    // either no key or a complete one, and a link never replaces the key another run made.
    let tmp = dir.join(format!(".pii.key.tmp-{}", std::process::id()));
    let cannot = |e: std::io::Error| coded(CANT_CREATE, format!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(cannot)?;
    std::io::Write::write_all(&mut file, &key).map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => eprintln!("note: created the key for pseudonyms in outputs: {} (keep it to keep pseudonyms stable)", path.display()),
        // Another run created it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(cannot(e)),
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_keyed_stable_and_domain_separated() {
        let (Ok(a), Ok(b)) =
            (Pseudonymizer::new(b"0123456789abcdef0123456789abcdef"), Pseudonymizer::new(b"fedcba9876543210fedcba9876543210"))
        else {
            panic!("keys")
        };
        assert_eq!(a.digest("person", "110105199001011234"), a.digest("person", "110105199001011234"));
        assert_ne!(a.digest("person", "110105199001011234"), b.digest("person", "110105199001011234"));
        assert_ne!(a.digest("phone", "13800000000"), a.digest("email", "13800000000"));
        assert_eq!(a.digest("phone", "x").len(), 32);
        assert!(is_digest(&a.digest("phone", "x")));
        assert!(is_pseudonym(&format!("p:{}", a.digest("person", "x"))));
        assert!(!is_pseudonym("p:110105199001011234"));
        // Python's hmac: hmac.new(key, b"person\x00110105199001011234", sha256).hexdigest()[:32].
        assert_eq!(a.digest("person", "110105199001011234"), "93a37d34af49a40f40dc80cb047d2c65");
        assert_eq!(a.digest("phone", "13800000000"), "23aa87d9976bb09a13c9bd5dc8d2b5c5");
    }
}
