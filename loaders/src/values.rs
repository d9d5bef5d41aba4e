//! Typed, row-addressed views over Arrow columns: the one place that knows which physical types
//! (int or string ids, dictionary and view strings, every timestamp unit, date32/date64, decimals)
//! stand for which logical contract type. A bad value is an `Err(message)` for that row only.

use std::borrow::Cow;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, BooleanArray, PrimitiveArray, StringArray};
use arrow_schema::{DataType, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

use ekg_schema::MICROS_PER_DAY;

fn type_error(path: &Path, column: &str, expected: &str, found: &DataType) -> Error {
    Error::ColumnType { path: path.to_path_buf(), column: column.to_string(), expected: expected.to_string(), found: format!("{found}") }
}

fn is_stringish(ty: &DataType) -> bool {
    match ty {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_stringish(value),
        _ => false,
    }
}

fn is_integer(ty: &DataType) -> bool {
    ty.is_integer() || matches!(ty, DataType::Dictionary(_, v) if v.is_integer())
}

/// Any text or integer column as UTF-8 strings (the arrow cast kernels do the conversion).
fn as_strings(path: &Path, column: &str, array: &ArrayRef, expected: &str) -> Result<StringArray> {
    let ty = array.data_type();
    if !(is_stringish(ty) || is_integer(ty) || ty == &DataType::Null) {
        return Err(type_error(path, column, expected, ty));
    }
    let cast = arrow_cast::cast(array, &DataType::Utf8).map_err(|_| type_error(path, column, expected, ty))?;
    Ok(cast.as_string::<i32>().clone())
}

/// Trims and NFKC-normalises a code (full-width digits and letters from Chinese input methods
/// become ASCII). Returns whether the text changed, for the manifest's count.
pub fn normalize_code(raw: &str) -> (Cow<'_, str>, bool) {
    if raw.is_ascii() {
        // The common case, on bytes: str::trim decodes chars. The ASCII white space of
        // `char::is_whitespace` is the space and \t \n \v \f \r.
        let is_space = |b: &u8| *b == b' ' || (b'\t'..=b'\r').contains(b);
        let bytes = raw.as_bytes();
        let start = bytes.iter().position(|b| !is_space(b)).unwrap_or(bytes.len());
        let end = bytes.iter().rposition(|b| !is_space(b)).map_or(start, |last| last + 1);
        return (Cow::Borrowed(&raw[start..end]), end - start != raw.len());
    }
    let trimmed = raw.trim();
    let normal: String = trimmed.nfkc().collect::<String>();
    let normal_trimmed = normal.trim();
    if normal_trimmed == raw {
        (Cow::Borrowed(raw), false)
    } else {
        (Cow::Owned(normal_trimmed.to_string()), true)
    }
}

/// An id or text column.
pub struct TextColumn(StringArray);

impl TextColumn {
    pub fn new(path: &Path, column: &str, array: &ArrayRef) -> Result<Self> {
        as_strings(path, column, array, "utf8 or integer").map(TextColumn)
    }

    #[inline]
    pub fn get(&self, row: usize) -> Option<&str> {
        (!self.0.is_null(row)).then(|| self.0.value(row))
    }
}

/// A float column (floats, integers, decimals, or decimal text).
pub enum F64Column {
    Floats(PrimitiveArray<Float64Type>),
    Text(StringArray),
}

impl F64Column {
    pub fn new(path: &Path, column: &str, array: &ArrayRef) -> Result<Self> {
        let ty = array.data_type();
        if is_stringish(ty) {
            return as_strings(path, column, array, "float64").map(F64Column::Text);
        }
        let numeric = ty.is_numeric() || ty == &DataType::Null;
        if !numeric {
            return Err(type_error(path, column, "float64", ty));
        }
        let cast = arrow_cast::cast(array, &DataType::Float64).map_err(|_| type_error(path, column, "float64", ty))?;
        Ok(F64Column::Floats(cast.as_primitive::<Float64Type>().clone()))
    }

    pub fn get(&self, row: usize) -> std::result::Result<Option<f64>, String> {
        match self {
            F64Column::Floats(a) => Ok((!a.is_null(row)).then(|| a.value(row))),
            F64Column::Text(a) => {
                if a.is_null(row) {
                    return Ok(None);
                }
                let text = a.value(row).trim();
                text.parse::<f64>().map(Some).map_err(|_| format!("'{}' is not a number", clip(text)))
            }
        }
    }
}

/// The instants a timestamp may hold: years 1 to 9999, the range of ISO 8601 text and of every
/// date library downstream. Outside it, unit conversions overflow and `i64::MIN` is the null
/// sentinel, so such a value is refused rather than wrapped or read as null.
pub const MIN_MICROS: i64 = -62_135_596_800_000_000;
pub const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// An instant column, read as microseconds since the epoch (UTC).
pub enum TimestampColumn {
    /// Raw integers and the microseconds per unit (or `Nanos`, which divides).
    Ints {
        values: Vec<Option<i64>>,
        unit: IntUnit,
    },
    Text(StringArray),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntUnit {
    /// Microseconds per value (days, seconds, milliseconds, microseconds).
    Micros(i64),
    Nanos,
}

impl TimestampColumn {
    pub fn new(path: &Path, column: &str, array: &ArrayRef) -> Result<Self> {
        let ty = array.data_type();
        if is_stringish(ty) {
            return as_strings(path, column, array, "timestamp").map(TimestampColumn::Text);
        }
        fn raw<T: arrow_array::ArrowPrimitiveType<Native = i64>>(a: &ArrayRef) -> Vec<Option<i64>> {
            a.as_primitive::<T>().iter().collect()
        }
        let (values, unit) = match ty {
            DataType::Timestamp(TimeUnit::Second, _) => (raw::<TimestampSecondType>(array), IntUnit::Micros(1_000_000)),
            DataType::Timestamp(TimeUnit::Millisecond, _) => (raw::<TimestampMillisecondType>(array), IntUnit::Micros(1_000)),
            DataType::Timestamp(TimeUnit::Microsecond, _) => (raw::<TimestampMicrosecondType>(array), IntUnit::Micros(1)),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => (raw::<TimestampNanosecondType>(array), IntUnit::Nanos),
            DataType::Date32 => {
                (array.as_primitive::<Date32Type>().iter().map(|v| v.map(i64::from)).collect(), IntUnit::Micros(MICROS_PER_DAY))
            }
            DataType::Date64 => (raw::<Date64Type>(array), IntUnit::Micros(1_000)),
            DataType::Null => (vec![None; array.len()], IntUnit::Micros(1)),
            other => return Err(type_error(path, column, "timestamp", other)),
        };
        Ok(TimestampColumn::Ints { values, unit })
    }

    pub fn get(&self, row: usize) -> std::result::Result<Option<i64>, String> {
        let micros = match self {
            TimestampColumn::Ints { values, unit } => {
                let Some(v) = values[row] else { return Ok(None) };
                match unit {
                    IntUnit::Micros(scale) => v.checked_mul(*scale),
                    IntUnit::Nanos => Some(v.div_euclid(1_000)),
                }
            }
            TimestampColumn::Text(a) => {
                if a.is_null(row) {
                    return Ok(None);
                }
                Some(parse_timestamp(a.value(row))?)
            }
        };
        match micros {
            Some(m) if (MIN_MICROS..=MAX_MICROS).contains(&m) => Ok(Some(m)),
            _ => Err(format!("{} is outside the years 1 to 9999", self.raw_text(row))),
        }
    }

    /// The stored value as written, for a message.
    fn raw_text(&self, row: usize) -> String {
        match self {
            TimestampColumn::Ints { values, unit: IntUnit::Micros(MICROS_PER_DAY) } => format!("day {}", values[row].unwrap_or(0)),
            TimestampColumn::Ints { values, .. } => format!("{}", values[row].unwrap_or(0)),
            TimestampColumn::Text(a) => format!("'{}'", clip(a.value(row))),
        }
    }
}

/// ISO-8601 text: RFC 3339 with an offset, or a naive date-time (taken as UTC), or a date.
pub fn parse_timestamp(text: &str) -> std::result::Result<i64, String> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_micros());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(dt.and_utc().timestamp_micros());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc().timestamp_micros()).unwrap_or(0));
    }
    Err(format!("'{}' is not an ISO-8601 timestamp (e.g. 2024-03-01T09:30:00Z)", clip(t)))
}

/// A date column, read as days since 1970-01-01.
pub struct DateColumn(TimestampColumn);

impl DateColumn {
    pub fn new(path: &Path, column: &str, array: &ArrayRef) -> Result<Self> {
        TimestampColumn::new(path, column, array)
            .map_err(|e| match e {
                Error::ColumnType { path, column, found, .. } => Error::ColumnType { path, column, expected: "date".into(), found },
                other => other,
            })
            .map(DateColumn)
    }

    pub fn get(&self, row: usize) -> std::result::Result<Option<i32>, String> {
        Ok(self.0.get(row)?.map(|micros| micros.div_euclid(MICROS_PER_DAY).clamp(i32::MIN as i64 + 1, i32::MAX as i64) as i32))
    }
}

/// A boolean column (booleans, 0/1 integers, or true/false/yes/no/1/0 text).
pub enum BoolColumn {
    Bools(BooleanArray),
    Text(StringArray),
}

impl BoolColumn {
    pub fn new(path: &Path, column: &str, array: &ArrayRef) -> Result<Self> {
        let ty = array.data_type();
        if is_stringish(ty) {
            return as_strings(path, column, array, "bool").map(BoolColumn::Text);
        }
        if !(ty == &DataType::Boolean || ty.is_integer() || ty == &DataType::Null) {
            return Err(type_error(path, column, "bool", ty));
        }
        let cast = arrow_cast::cast(array, &DataType::Boolean).map_err(|_| type_error(path, column, "bool", ty))?;
        Ok(BoolColumn::Bools(cast.as_boolean().clone()))
    }

    pub fn get(&self, row: usize) -> std::result::Result<Option<bool>, String> {
        match self {
            BoolColumn::Bools(a) => Ok((!a.is_null(row)).then(|| a.value(row))),
            BoolColumn::Text(a) => {
                if a.is_null(row) {
                    return Ok(None);
                }
                match a.value(row).trim().to_ascii_lowercase().as_str() {
                    "true" | "t" | "1" | "yes" | "y" => Ok(Some(true)),
                    "false" | "f" | "0" | "no" | "n" => Ok(Some(false)),
                    other => Err(format!("'{}' is not a boolean (true/false)", clip(other))),
                }
            }
        }
    }
}

/// Shortens a value for an error message.
/// The position of `raw` (trimmed, case aside) among an enumerated column's `names`, or the
/// message of the problem: the one rule for enumerations, for the loader and the distributed read.
pub fn enum_position(names: &[&str], raw: &str) -> std::result::Result<usize, String> {
    let value = raw.trim();
    names.iter().position(|n| n.eq_ignore_ascii_case(value)).ok_or_else(|| format!("'{}' is not one of {}", clip(raw), names.join("|")))
}

pub fn clip(text: &str) -> Cow<'_, str> {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{}…", text.chars().take(MAX).collect::<String>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn timestamps_parse_in_every_common_form() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z"), Ok(1_000_000));
        assert_eq!(parse_timestamp("1970-01-01 00:00:01.5"), Ok(1_500_000));
        assert_eq!(parse_timestamp("1970-01-02"), Ok(MICROS_PER_DAY));
        assert_eq!(parse_timestamp("1970-01-01T08:00:00+08:00"), Ok(0));
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn full_width_codes_are_normalised() {
        let (code, changed) = normalize_code(" ９１１１０１０８ＭＡ０１ ");
        assert_eq!(code, "91110108MA01");
        assert!(changed);
        // The byte-level trim of ASCII codes equals str::trim for every ASCII byte around a code.
        for b in 0u8..128 {
            let padded = format!("{c}{c}F{c}1{c}", c = b as char);
            let (code, changed) = normalize_code(&padded);
            assert_eq!(code, padded.trim(), "byte {b}");
            assert_eq!(changed, code.len() != padded.len(), "byte {b}");
        }
        assert_eq!(normalize_code(" \t ").0, "");
        let (code, changed) = normalize_code("F1");
        assert_eq!(code, "F1");
        assert!(!changed);
    }

    #[test]
    fn integer_ids_and_timestamp_units_are_accepted() {
        let path = Path::new("t.parquet");
        let ints: ArrayRef = Arc::new(arrow_array::Int64Array::from(vec![Some(42), None]));
        let ids = TextColumn::new(path, "firm_id", &ints).expect("ints are ids");
        assert_eq!(ids.get(0), Some("42"));
        assert_eq!(ids.get(1), None);
        let ms: ArrayRef = Arc::new(arrow_array::TimestampMillisecondArray::from(vec![1_000]).with_timezone("UTC"));
        let ts = TimestampColumn::new(path, "ts", &ms).expect("timestamps");
        assert_eq!(ts.get(0), Ok(Some(1_000_000)));
        let floats: ArrayRef = Arc::new(arrow_array::Float64Array::from(vec![1.5]));
        let err = TimestampColumn::new(path, "ts", &floats).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("t.parquet: column 'ts' expected timestamp, found Float64"));
    }
}
