//! Realistic external ids with valid check digits: unified social credit codes for firms
//! (GB 32100-2015, with the embedded GB 11714 organisation code) and resident ID numbers for
//! persons (GB 11643, ISO 7064 MOD 11-2). Each is a bijection of the entity's index, so ids are
//! unique without a lookup table.

const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Six-digit administrative division codes, one per region name in `REGIONS`.
pub const REGION_CODES: [&str; 16] = [
    "110105", "310115", "440305", "330106", "320505", "370202", "420106", "510107", "500103", "610113", "350203", "430104", "340104",
    "410105", "120116", "210202",
];
pub const REGIONS: [&str; 16] = [
    "Beijing",
    "Shanghai",
    "Shenzhen",
    "Hangzhou",
    "Suzhou",
    "Qingdao",
    "Wuhan",
    "Chengdu",
    "Chongqing",
    "Xian",
    "Xiamen",
    "Changsha",
    "Hefei",
    "Zhengzhou",
    "Tianjin",
    "Dalian",
];

#[cfg(test)]
use ekg_schema::pii::uscc_valid;
use ekg_schema::pii::{resident_id_check, uscc_check};

/// The firm id of firm `index` in `region`.
pub fn firm_id(index: u32, region: usize) -> String {
    // Spread consecutive indices over the 8-digit organisation number (an odd multiplier is a
    // bijection modulo 10^8).
    let org = (index as u64 * 48_271 + 10_000_000) % 100_000_000;
    let digits = format!("{org:08}");
    let sum: u32 = digits.bytes().zip(ORG_WEIGHTS).map(|(d, w)| (d - b'0') as u32 * w).sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from(b'0' + c as u8),
    };
    let mut code = format!("91{}{digits}{org_check}", REGION_CODES[region % REGION_CODES.len()]);
    let check = uscc_check(code.as_bytes()).unwrap_or(b'0');
    code.push(char::from(check));
    code
}

/// The resident ID number of person `index` (unique for indices below ~230 million).
pub fn person_id(index: u32) -> String {
    let region = REGION_CODES[index as usize % REGION_CODES.len()];
    let rest = index as u64 / REGION_CODES.len() as u64;
    let day = rest % 14_600;
    let seq = rest / 14_600;
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).and_then(|d| d.checked_add_days(chrono::Days::new(day)));
    let birth = birth.map(|d| d.format("%Y%m%d").to_string()).unwrap_or_else(|| "19600101".into());
    let mut id = format!("{region}{birth}{seq:03}");
    id.push(char::from(resident_id_check(id.as_bytes()).unwrap_or(b'0')));
    id
}

/// A bijection of `0..below` (`below` ≤ 2^bits, `bits` even) that scatters consecutive values:
/// a four-round Feistel network on `bits` bits, applied again while the result is out of range
/// (cycle walking; a permutation of the larger range restricted this way stays one).
fn scatter(value: u64, bits: u32, below: u64) -> u64 {
    let half = bits / 2;
    let mask = (1u64 << half) - 1;
    let mut x = value;
    loop {
        let (mut left, mut right) = (x >> half, x & mask);
        for round in 0..4u64 {
            let mixed = ekg_algorithms::hash::mix(right ^ (round << 40) ^ 0x5bd1_e995) & mask;
            (left, right) = (right, left ^ mixed);
        }
        x = (left << half) | right;
        if x < below {
            return x;
        }
    }
}

/// The account number of account `index`, its 15 digits scattered: ekg numbers nodes by id, so
/// numbers that grew with the index would put planted accounts, allocated together, next to each
/// other in node order.
pub fn account_id(index: u32) -> String {
    format!("6222{:015}", scatter(index as u64, 50, 1_000_000_000_000_000))
}

/// The loan number of loan `index`, its 10 digits scattered as account numbers are.
pub fn loan_id(index: u32) -> String {
    format!("LN{:010}", scatter(index as u64, 34, 10_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_firm_ids_pass_the_national_check() {
        for i in [0, 1, 2, 999_999, 4_000_000] {
            assert!(uscc_valid(&firm_id(i, i as usize)), "{}", firm_id(i, 0));
        }
        // A published example code (GB 32100-2015 appendix style) and a corrupted copy.
        assert!(uscc_valid("91350100M000100Y43"));
        assert!(!uscc_valid("91350100M000100Y44"));
    }

    #[test]
    fn account_and_loan_numbers_are_unique_and_do_not_follow_the_index() {
        for id in [account_id as fn(u32) -> String, loan_id] {
            let ids: Vec<String> = (0..200_000).map(id).collect();
            assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), ids.len(), "unique");
            assert!(ids.iter().all(|x| x.len() == ids[0].len()), "fixed width");
            // Consecutive indices in id order about half the time, as a random order would be.
            let rising = ids.windows(2).filter(|w| w[0] < w[1]).count() as f64 / (ids.len() - 1) as f64;
            assert!((0.4..0.6).contains(&rising), "{rising}");
        }
    }

    #[test]
    fn person_ids_carry_a_valid_mod_11_2_check() {
        // The standard's worked example.
        assert_eq!(resident_id_check(b"11010519491231002"), Some(b'X'));
        let mut seen = std::collections::HashSet::new();
        for i in 0..50_000 {
            assert!(seen.insert(person_id(i)));
        }
    }
}
