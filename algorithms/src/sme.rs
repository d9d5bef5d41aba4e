//! Firm size by China's 2011 SME classification standard (工信部联企业〔2011〕300号, "中小企业划型
//! 标准规定"): per sector, lower bounds of employees, operating revenue and/or total assets for
//! large, medium and small firms; a firm is in a tier when it meets every one of its sector's
//! lower bounds for that tier, else it falls to the next ("须同时满足所列指标的下限，否则下划一档"),
//! and below small it is micro.
//!
//! The sector comes from the firm's industry text (English or Chinese keywords, GB/T 4754 section
//! names); unmatched industries use the standard's "other" row (employees only). When some of a
//! sector's indicators are unknown the known ones decide and the basis says so; when none is known
//! the caller falls back to its own rule (registered capital) and says that instead.

/// A sector of the standard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sector {
    Agriculture,
    Industry,
    Construction,
    Wholesale,
    Retail,
    Transport,
    Warehousing,
    Postal,
    Accommodation,
    Catering,
    InformationTransmission,
    Software,
    RealEstate,
    PropertyManagement,
    Leasing,
    Other,
}

impl Sector {
    pub fn as_str(self) -> &'static str {
        match self {
            Sector::Agriculture => "agriculture",
            Sector::Industry => "industry",
            Sector::Construction => "construction",
            Sector::Wholesale => "wholesale",
            Sector::Retail => "retail",
            Sector::Transport => "transport",
            Sector::Warehousing => "warehousing",
            Sector::Postal => "postal",
            Sector::Accommodation => "accommodation",
            Sector::Catering => "catering",
            Sector::InformationTransmission => "information transmission",
            Sector::Software => "software and IT services",
            Sector::RealEstate => "real estate development",
            Sector::PropertyManagement => "property management",
            Sector::Leasing => "leasing and business services",
            Sector::Other => "other",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SizeClass {
    Micro,
    Small,
    Medium,
    Large,
}

impl SizeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SizeClass::Micro => "micro",
            SizeClass::Small => "small",
            SizeClass::Medium => "medium",
            SizeClass::Large => "large",
        }
    }
}

/// One indicator of a firm's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indicator {
    Employees,
    Revenue,
    TotalAssets,
}

impl Indicator {
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::Employees => "employees",
            Indicator::Revenue => "revenue",
            Indicator::TotalAssets => "total_assets",
        }
    }
}

const M: f64 = 1_000_000.0;

/// (indicator, lower bounds of large, medium, small): the standard's table.
fn bounds(sector: Sector) -> &'static [(Indicator, [f64; 3])] {
    use Indicator::*;
    match sector {
        Sector::Agriculture => &[(Revenue, [200.0 * M, 5.0 * M, 0.5 * M])],
        Sector::Industry => &[(Employees, [1000.0, 300.0, 20.0]), (Revenue, [400.0 * M, 20.0 * M, 3.0 * M])],
        Sector::Construction => &[(Revenue, [800.0 * M, 60.0 * M, 3.0 * M]), (TotalAssets, [800.0 * M, 50.0 * M, 3.0 * M])],
        Sector::Wholesale => &[(Employees, [200.0, 20.0, 5.0]), (Revenue, [400.0 * M, 50.0 * M, 10.0 * M])],
        Sector::Retail => &[(Employees, [300.0, 50.0, 10.0]), (Revenue, [200.0 * M, 5.0 * M, 1.0 * M])],
        Sector::Transport => &[(Employees, [1000.0, 300.0, 20.0]), (Revenue, [300.0 * M, 30.0 * M, 2.0 * M])],
        Sector::Warehousing => &[(Employees, [200.0, 100.0, 20.0]), (Revenue, [300.0 * M, 10.0 * M, 1.0 * M])],
        Sector::Postal => &[(Employees, [1000.0, 300.0, 20.0]), (Revenue, [300.0 * M, 20.0 * M, 1.0 * M])],
        Sector::Accommodation | Sector::Catering => &[(Employees, [300.0, 100.0, 10.0]), (Revenue, [100.0 * M, 20.0 * M, 1.0 * M])],
        Sector::InformationTransmission => &[(Employees, [2000.0, 100.0, 10.0]), (Revenue, [1000.0 * M, 10.0 * M, 1.0 * M])],
        Sector::Software => &[(Employees, [300.0, 100.0, 10.0]), (Revenue, [100.0 * M, 10.0 * M, 0.5 * M])],
        Sector::RealEstate => &[(Revenue, [2000.0 * M, 10.0 * M, 1.0 * M]), (TotalAssets, [100.0 * M, 50.0 * M, 20.0 * M])],
        Sector::PropertyManagement => &[(Employees, [1000.0, 300.0, 100.0]), (Revenue, [50.0 * M, 10.0 * M, 5.0 * M])],
        Sector::Leasing => &[(Employees, [300.0, 100.0, 10.0]), (TotalAssets, [1200.0 * M, 80.0 * M, 1.0 * M])],
        Sector::Other => &[(Employees, [300.0, 100.0, 10.0])],
    }
}

/// The sector of an industry text; the first matching keyword wins (property management before
/// real estate, wholesale before retail).
pub fn sector(industry: &str) -> Sector {
    let text = industry.to_lowercase();
    const KEYWORDS: [(&[&str], Sector); 15] = [
        (&["property management", "property_management", "物业"], Sector::PropertyManagement),
        (&["real estate", "real_estate", "房地产"], Sector::RealEstate),
        (&["agricultur", "farm", "forestry", "fish", "animal husbandry", "农", "林业", "牧", "渔"], Sector::Agriculture),
        (&["construct", "建筑"], Sector::Construction),
        (&["wholesale", "批发"], Sector::Wholesale),
        (&["retail", "零售"], Sector::Retail),
        (&["warehous", "storage", "仓储"], Sector::Warehousing),
        (&["postal", "courier", "邮政"], Sector::Postal),
        (&["logistic", "transport", "shipping", "运输"], Sector::Transport),
        (&["hotel", "accommodation", "lodging", "住宿"], Sector::Accommodation),
        (&["catering", "restaurant", "餐饮"], Sector::Catering),
        (&["telecom", "information transmission", "信息传输"], Sector::InformationTransmission),
        (&["software", "information technology", "it service", "软件", "信息技术"], Sector::Software),
        (&["leasing", "business service", "租赁", "商务服务"], Sector::Leasing),
        (
            &[
                "manufactur",
                "industr",
                "mining",
                "textile",
                "chemical",
                "electronic",
                "food",
                "energy",
                "utilit",
                "electric",
                "工业",
                "制造",
                "采矿",
            ],
            Sector::Industry,
        ),
    ];
    KEYWORDS.iter().find(|(words, _)| words.iter().any(|w| text.contains(w))).map_or(Sector::Other, |(_, s)| *s)
}

/// The firm's size class by the standard, and the indicators that decided it (all of the
/// sector's, or the known ones); `None` when none of its sector's indicators is known.
pub fn classify(sector: Sector, employees: f64, revenue: f64, total_assets: f64) -> Option<(SizeClass, Vec<Indicator>)> {
    let value = |i: Indicator| match i {
        Indicator::Employees => employees,
        Indicator::Revenue => revenue,
        Indicator::TotalAssets => total_assets,
    };
    let known: Vec<(Indicator, [f64; 3])> = bounds(sector).iter().copied().filter(|(i, _)| value(*i).is_finite()).collect();
    if known.is_empty() {
        return None;
    }
    let meets = |tier: usize| known.iter().all(|(i, b)| value(*i) >= b[tier]);
    let class = if meets(0) {
        SizeClass::Large
    } else if meets(1) {
        SizeClass::Medium
    } else if meets(2) {
        SizeClass::Small
    } else {
        SizeClass::Micro
    };
    Some((class, known.iter().map(|(i, _)| *i).collect()))
}

/// Whether a sector's indicators are all among `used` (the basis is the standard's, not partial).
pub fn complete(sector: Sector, used: &[Indicator]) -> bool {
    bounds(sector).iter().all(|(i, _)| used.contains(i))
}
