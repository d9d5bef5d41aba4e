//! `ekg build --pseudonymize KEYFILE`: person ids and identifier values (phones, emails,
//! addresses, devices, IPs, bank accounts) become keyed HMAC-SHA256 digests, so features and
//! rings can be shared without raw PII. A plain hash of an ID number or phone number is
//! brute-forceable (the space is small); without the key a digest reveals nothing. The same key
//! gives the same pseudonyms (joins across runs keep working); equal values stay equal, so shared
//! identifiers are still shared. Person names are dropped.

use anyhow::{Context, Result};
use ekg_schema::{Graph, IdentifierKind, KindSet, NodeKind};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::exit::{coded, USAGE};

/// Keys shorter than this are refused (HMAC-SHA256 wants 32 bytes; 16 is the floor).
const MIN_KEY_BYTES: usize = 16;
/// Digest bytes kept: 128 bits, collision-free at any realistic scale (checked anyway).
const KEPT_BYTES: usize = 16;

pub struct Pseudonymizer {
    /// Keyed once; cloned per digest.
    mac: Hmac<Sha256>,
}

impl Pseudonymizer {
    pub fn from_file(path: &std::path::Path) -> Result<Pseudonymizer> {
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
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let bytes = mac.finalize().into_bytes();
        bytes[..KEPT_BYTES].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Rewrites the graph's person ids and identifier values in place.
    pub fn apply(&self, graph: &mut Graph) -> Result<()> {
        graph.rename_ids(KindSet::of(&[NodeKind::Person]), |id| format!("p:{}", self.digest("person", id)))?;
        graph.rename_identifier_values(|kind: IdentifierKind, text| self.digest(kind.as_str(), text))?;
        Ok(())
    }
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
    }
}
