//! The 2011 SME classification on firms at each threshold (the standard's table, tier by tier),
//! with partial data and industry texts in English and Chinese.

use ekg_algorithms::sme::{classify, complete, sector, Indicator, Sector, SizeClass};

const NAN: f64 = f64::NAN;
const M: f64 = 1_000_000.0;

fn class(s: Sector, employees: f64, revenue: f64, assets: f64) -> Option<SizeClass> {
    classify(s, employees, revenue, assets).map(|c| c.0)
}

#[test]
fn industry_firms_at_each_threshold() {
    use SizeClass::*;
    // Small needs 20 employees and 3 M revenue; one short of either is micro.
    assert_eq!(class(Sector::Industry, 20.0, 3.0 * M, NAN), Some(Small));
    assert_eq!(class(Sector::Industry, 19.0, 3.0 * M, NAN), Some(Micro));
    assert_eq!(class(Sector::Industry, 20.0, 2.99 * M, NAN), Some(Micro));
    // Medium needs both 300 and 20 M; missing one lower bound falls a tier.
    assert_eq!(class(Sector::Industry, 300.0, 20.0 * M, NAN), Some(Medium));
    assert_eq!(class(Sector::Industry, 300.0, 19.9 * M, NAN), Some(Small));
    assert_eq!(class(Sector::Industry, 1000.0, 400.0 * M, NAN), Some(Large));
    assert_eq!(class(Sector::Industry, 999.0, 400.0 * M, NAN), Some(Medium));
}

#[test]
fn other_sectors_at_their_own_thresholds() {
    use SizeClass::*;
    assert_eq!(class(Sector::Retail, 10.0, 1.0 * M, NAN), Some(Small));
    assert_eq!(class(Sector::Retail, 9.0, 1.0 * M, NAN), Some(Micro));
    assert_eq!(class(Sector::Wholesale, 5.0, 10.0 * M, NAN), Some(Small));
    assert_eq!(class(Sector::Wholesale, 5.0, 9.0 * M, NAN), Some(Micro));
    assert_eq!(class(Sector::Agriculture, NAN, 0.5 * M, NAN), Some(Small));
    assert_eq!(class(Sector::Agriculture, NAN, 0.49 * M, NAN), Some(Micro));
    // Construction: revenue and total assets; assets under the medium bound keep it small.
    assert_eq!(class(Sector::Construction, NAN, 60.0 * M, 49.0 * M), Some(Small));
    assert_eq!(class(Sector::Construction, NAN, 60.0 * M, 50.0 * M), Some(Medium));
    assert_eq!(class(Sector::Software, 10.0, 0.5 * M, NAN), Some(Small));
    assert_eq!(class(Sector::Other, 100.0, NAN, NAN), Some(Medium));
}

#[test]
fn partial_data_says_which_indicators_decided_and_none_is_no_answer() {
    let (size, used) = classify(Sector::Industry, 25.0, NAN, NAN).expect("employees known");
    assert_eq!((size, used.clone()), (SizeClass::Small, vec![Indicator::Employees]));
    assert!(!complete(Sector::Industry, &used));
    let (_, used) = classify(Sector::Industry, 25.0, 4.0 * M, 1.0).expect("both known");
    assert!(complete(Sector::Industry, &used), "total assets do not count for industry");
    assert_eq!(classify(Sector::Retail, NAN, NAN, 5.0 * M), None, "retail is not sized by assets");
}

#[test]
fn industry_texts_map_to_sectors() {
    assert_eq!(sector("manufacturing"), Sector::Industry);
    assert_eq!(sector("wholesale_retail"), Sector::Wholesale);
    assert_eq!(sector("Retail trade"), Sector::Retail);
    assert_eq!(sector("logistics"), Sector::Transport);
    assert_eq!(sector("real_estate"), Sector::RealEstate);
    assert_eq!(sector("物业管理"), Sector::PropertyManagement);
    assert_eq!(sector("房地产开发经营"), Sector::RealEstate);
    assert_eq!(sector("餐饮业"), Sector::Catering);
    assert_eq!(sector("services"), Sector::Other);
}
