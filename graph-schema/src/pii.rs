//! The personal-data policy, written once and applied to every message, log, table and page.
//!
//! - **Business keys are never masked.** A firm's unified social credit code (USCC), a loan id and
//!   the entity a user asked about are printed as they are: an analyst must be able to find the
//!   row.
//! - **Person-identifying values** — resident ID numbers, phone numbers, e-mail addresses, bank
//!   account numbers, device ids, IPs — are masked in messages and logs (`3405**********001X`);
//!   [`mask_personal`] recognises them by their form.
//! - **In outputs** (tables, `show`, exports, pages) they appear in full only with
//!   `--reveal-pii`; otherwise as one keyed pseudonym (HMAC-SHA256 under the run's key), the same
//!   everywhere, so two rows sharing a phone still visibly share it. [`is_personal_node`] and
//!   [`is_personal_identifier`] say which values; addresses are not personal here (a registered
//!   business address is the fact an investigator needs), and a sole proprietor's firm name is
//!   (it is the owner's name).

use std::borrow::Cow;

use crate::graph::Graph;
use crate::kinds::{IdentifierKind, NodeId, NodeKind, Relation};

const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The check character of the first 17 characters of a unified social credit code (GB 32100-2015).
pub fn uscc_check(code17: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (c, w) in code17.iter().zip(USCC_WEIGHTS) {
        sum += USCC_CHARS.iter().position(|x| x == c)? as u32 * w;
    }
    Some(USCC_CHARS[((31 - sum % 31) % 31) as usize])
}

/// Whether `code` is an 18-character USCC with a valid check character.
pub fn uscc_valid(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 18 && uscc_check(&b[..17]) == Some(b[17])
}

/// The check character of the first 17 digits of a resident ID number (GB 11643, ISO 7064
/// MOD 11-2).
pub fn resident_id_check(digits17: &[u8]) -> Option<u8> {
    if digits17.len() != 17 || !digits17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = digits17.iter().zip(ID_WEIGHTS).map(|(d, w)| (d - b'0') as u32 * w).sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// Whether a USCC names a sole proprietorship (个体工商户: registration authority 9, type 2):
/// its name is usually the owner's.
pub fn is_sole_proprietor(firm_id: &str) -> bool {
    firm_id.len() == 18 && firm_id.starts_with("92")
}

fn plausible_date(yyyymmdd: &[u8]) -> bool {
    let n = |r: std::ops::Range<usize>| std::str::from_utf8(&yyyymmdd[r]).ok().and_then(|s| s.parse::<u32>().ok());
    match (n(0..4), n(4..6), n(6..8)) {
        (Some(y), Some(m), Some(d)) => (1900..=2099).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d),
        _ => false,
    }
}

/// Whether a value has the form of a person-identifying value: a resident ID number (18 or 15
/// characters with a birth date), a mobile phone number (11 digits from 1, with or without +86),
/// an e-mail address, or a bank card or account number (12–19 digits). A valid USCC is a firm's
/// business key and never personal.
pub fn looks_personal(value: &str) -> bool {
    let v = value.trim();
    if uscc_valid(v) {
        return false;
    }
    if let Some((local, domain)) = v.split_once('@') {
        return !local.is_empty() && domain.contains('.');
    }
    let b = v.as_bytes();
    if b.len() == 18 && b[..17].iter().all(u8::is_ascii_digit) && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x') {
        return plausible_date(&b[6..14]) || resident_id_check(&b[..17]) == Some(b[17].to_ascii_uppercase());
    }
    let digits: String = v.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let digits = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let len = digits.len();
    (len == 11 && digits.starts_with('1'))
        || (len == 15 && plausible_date(format!("19{}", &digits[6..12]).as_bytes()))
        || (12..=19).contains(&len)
}

/// Masks the middle of an identifier-like value (`3405**********001X`). Short values keep only
/// their first and last character.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n <= 4 {
        return "*".repeat(n);
    }
    let keep = if n >= 11 { 4 } else { 1 };
    let tail = if n >= 11 { 4 } else { 1 };
    let mut out: String = chars[..keep].iter().collect();
    out.extend(std::iter::repeat_n('*', n - keep - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// The value as a message or log may show it: masked if it looks personal, whole otherwise (a
/// firm's code, a loan id, a file's own id that is not personal). A prefixed id (`p:…`, `a:…`, as
/// FinBench ids are) is judged by what follows the prefix.
pub fn mask_personal(value: &str) -> Cow<'_, str> {
    let body = match value.split_once(':') {
        Some((prefix, rest)) if prefix.len() <= 2 => rest,
        _ => value,
    };
    if looks_personal(body) {
        let prefix = &value[..value.len() - body.len()];
        Cow::Owned(format!("{prefix}{}", mask(body)))
    } else {
        Cow::Borrowed(value)
    }
}

/// Whether a node's external id identifies a person: persons, and accounts held by a person or by
/// nobody known (a bank account number of a person). Firms (USCC) and loans are business keys.
pub fn is_personal_node(graph: &Graph, node: NodeId) -> bool {
    match graph.kind(node) {
        NodeKind::Person => true,
        NodeKind::Account => {
            let owners = graph.relation(Relation::AccountOwner).reverse.neighbor_ids(node);
            owners.is_empty() || owners.iter().any(|&o| graph.kind(NodeId(o)) == NodeKind::Person)
        }
        NodeKind::Firm | NodeKind::Loan => false,
    }
}

/// Whether an identifier kind holds person-identifying values (all but addresses).
pub fn is_personal_identifier(kind: IdentifierKind) -> bool {
    !matches!(kind, IdentifierKind::Address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_the_middle_of_ids_and_phones() {
        assert_eq!(mask("34052419800101001X"), "3405**********001X");
        assert_eq!(mask("13812345678"), "1381***5678");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("F000123"), "F*****3");
    }

    #[test]
    fn personal_values_are_told_from_business_keys_by_form() {
        // Resident ID numbers (the standard's worked example), phones, e-mail, bank cards.
        for personal in ["11010519491231002X", "110105491231002", "13812345678", "+86 138-1234-5678", "a.b@firm.cn", "6222000000047207368"]
        {
            assert!(looks_personal(personal), "{personal}");
            assert_ne!(mask_personal(personal), personal);
        }
        // A USCC (valid check character, all digits included), loan ids, short codes, names.
        for business in ["91350100M000100Y43", "914403059256092211", "LN0000002541", "F001", "Agent Plaza 0 Room 101", "9999"] {
            assert!(!looks_personal(business), "{business}");
            assert_eq!(mask_personal(business), business);
        }
        // FinBench-style prefixed ids are judged by what follows the prefix.
        assert_eq!(mask_personal("c:91350100M000100Y43"), "c:91350100M000100Y43");
        assert_eq!(mask_personal("p:11010519491231002X"), "p:1101**********002X");
    }

    #[test]
    fn check_characters_follow_the_standards() {
        assert!(uscc_valid("91350100M000100Y43"));
        assert!(!uscc_valid("91350100M000100Y44"));
        assert_eq!(resident_id_check(b"11010519491231002"), Some(b'X'));
        assert!(is_sole_proprietor("92110105MA01ABCD1X"));
        assert!(!is_sole_proprietor("91350100M000100Y43"));
    }
}
