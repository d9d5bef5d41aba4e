//! Result tables: typed, nullable Arrow columns assembled by name and written to Parquet
//! atomically (a temporary file beside the target, fsynced, renamed into place).

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use crate::output::{write_parquet, TempFile};

#[derive(Default)]
pub struct Table {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Table {
    pub fn new() -> Table {
        Table::default()
    }

    fn push(mut self, name: &str, nullable: bool, array: ArrayRef) -> Table {
        self.fields.push(Field::new(name, array.data_type().clone(), nullable));
        self.arrays.push(array);
        self
    }

    pub fn utf8<'a>(self, name: &str, values: impl IntoIterator<Item = &'a str>) -> Table {
        let mut b = StringBuilder::new();
        for v in values {
            b.append_value(v);
        }
        self.push(name, false, Arc::new(b.finish()))
    }

    pub fn utf8_opt<S: AsRef<str>>(self, name: &str, values: impl IntoIterator<Item = Option<S>>) -> Table {
        let mut b = StringBuilder::new();
        for v in values {
            b.append_option(v);
        }
        self.push(name, true, Arc::new(b.finish()))
    }

    pub fn f64(self, name: &str, values: &[f64]) -> Table {
        let mut b = Float64Builder::with_capacity(values.len());
        b.append_slice(values);
        self.push(name, false, Arc::new(b.finish()))
    }

    /// NaN becomes null. Built from whole buffers, as `u32_opt` is: appending to a builder value
    /// by value cost a tenth of the write stage.
    pub fn f64_nan_null(self, name: &str, values: impl IntoIterator<Item = f64>) -> Table {
        let values: Vec<f64> = values.into_iter().collect();
        let valid: Vec<bool> = values.iter().map(|v| !v.is_nan()).collect();
        let nulls = valid.contains(&false).then(|| valid.into());
        self.push(name, true, Arc::new(Float64Array::new(values.into(), nulls)))
    }

    pub fn u32(self, name: &str, values: impl IntoIterator<Item = u32>) -> Table {
        let mut b = UInt32Builder::new();
        for v in values {
            b.append_value(v);
        }
        self.push(name, false, Arc::new(b.finish()))
    }

    pub fn u32_opt(self, name: &str, values: impl IntoIterator<Item = Option<u32>>) -> Table {
        let (values, valid): (Vec<u32>, Vec<bool>) = values.into_iter().map(|v| (v.unwrap_or(0), v.is_some())).unzip();
        let nulls = valid.contains(&false).then(|| valid.into());
        self.push(name, true, Arc::new(UInt32Array::new(values.into(), nulls)))
    }

    pub fn u64(self, name: &str, values: impl IntoIterator<Item = u64>) -> Table {
        let mut b = UInt64Builder::new();
        for v in values {
            b.append_value(v);
        }
        self.push(name, false, Arc::new(b.finish()))
    }

    /// Microseconds since the epoch as a UTC timestamp column; `None` is null.
    pub fn timestamp_opt(self, name: &str, values: impl IntoIterator<Item = Option<i64>>) -> Table {
        let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        for v in values {
            b.append_option(v);
        }
        self.push(name, true, Arc::new(b.finish()))
    }

    /// Days since the epoch as a date column; `None` is null.
    pub fn date_opt(self, name: &str, values: impl IntoIterator<Item = Option<i32>>) -> Table {
        let mut b = arrow_array::builder::Date32Builder::new();
        for v in values {
            b.append_option(v);
        }
        self.push(name, true, Arc::new(b.finish()))
    }

    pub fn bool(self, name: &str, values: impl IntoIterator<Item = bool>) -> Table {
        let mut b = BooleanBuilder::new();
        for v in values {
            b.append_value(v);
        }
        self.push(name, false, Arc::new(b.finish()))
    }

    pub fn bool_opt(self, name: &str, values: impl IntoIterator<Item = Option<bool>>) -> Table {
        let mut b = BooleanBuilder::new();
        for v in values {
            b.append_option(v);
        }
        self.push(name, true, Arc::new(b.finish()))
    }

    pub fn utf8_list<'a, L: IntoIterator<Item = &'a str>>(self, name: &str, lists: impl IntoIterator<Item = L>) -> Table {
        let mut b = ListBuilder::new(StringBuilder::new());
        for list in lists {
            for v in list {
                b.values().append_value(v);
            }
            b.append(true);
        }
        self.push_list(name, DataType::Utf8, Arc::new(b.finish()))
    }

    /// A list column: the lists themselves never null, stated in the schema.
    fn push_list(mut self, name: &str, item: DataType, array: ArrayRef) -> Table {
        let item = Field::new("item", item, true);
        self.fields.push(Field::new(name, DataType::List(Arc::new(item)), false));
        self.arrays.push(array);
        self
    }

    /// Checks the table against its entry in the output contract (the same columns, in order, of
    /// the documented types) and attaches each column's meaning as field metadata.
    pub fn documented(mut self, doc: &crate::dictionary::TableDoc) -> Result<Table> {
        let names: Vec<&str> = self.fields.iter().map(|f| f.name().as_str()).collect();
        let expected: Vec<&str> = doc.columns.iter().map(|c| c.name).collect();
        if names != expected {
            anyhow::bail!("internal error: {} has columns {names:?}, its contract says {expected:?}", doc.file);
        }
        for (field, column) in self.fields.iter_mut().zip(doc.columns) {
            if !column.kind.matches(field.data_type()) {
                anyhow::bail!(
                    "internal error: {}.{} is {}, its contract says {}",
                    doc.file,
                    column.name,
                    field.data_type(),
                    column.kind.as_str()
                );
            }
            let mut metadata = field.metadata().clone();
            metadata.insert("description".to_string(), column.meaning.to_string());
            *field = field.clone().with_metadata(metadata);
        }
        Ok(self)
    }

    /// Attaches `description` to the last column added (Parquet field metadata, the data
    /// dictionary travelling with the table).
    pub fn describe(mut self, description: &str) -> Table {
        if let Some(field) = self.fields.pop() {
            let mut metadata = field.metadata().clone();
            metadata.insert("description".to_string(), description.to_string());
            self.fields.push(field.with_metadata(metadata));
        }
        self
    }

    /// This table's columns followed by `other`'s.
    pub fn append(mut self, other: Table) -> Table {
        self.fields.extend(other.fields);
        self.arrays.extend(other.arrays);
        self
    }

    pub fn rows(&self) -> usize {
        self.arrays.first().map_or(0, |a| a.len())
    }

    pub fn into_batch(self) -> Result<RecordBatch> {
        Ok(RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.arrays)?)
    }

    /// Writes the table as `path`, replacing any previous file atomically. Returns the row count.
    pub fn write(self, path: &Path) -> Result<usize> {
        let rows = self.rows();
        let batch = self.into_batch()?;
        let tmp = TempFile::beside(path);
        write_parquet(tmp.path(), &batch)?;
        tmp.commit(path)?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn nullable_number_columns_match_value_by_value_builders() {
        let floats = [vec![1.5, f64::NAN, -0.0, f64::INFINITY, f64::NAN], vec![2.0, 3.0], vec![]];
        for values in floats {
            let mut expected = Float64Builder::new();
            values.iter().for_each(|&v| expected.append_option((!v.is_nan()).then_some(v)));
            let table = Table::new().f64_nan_null("x", values.iter().copied());
            let array = table.arrays[0].as_any().downcast_ref::<Float64Array>().expect("f64");
            assert_eq!(array, &expected.finish());
            assert_eq!(array.null_count(), values.iter().filter(|v| v.is_nan()).count());
        }
        let counts = [vec![Some(7), None, Some(0), None], vec![Some(1)], vec![None], vec![]];
        for values in counts {
            let mut expected = UInt32Builder::new();
            values.iter().for_each(|&v| expected.append_option(v));
            let table = Table::new().u32_opt("n", values.iter().copied());
            let array = table.arrays[0].as_any().downcast_ref::<UInt32Array>().expect("u32");
            assert_eq!(array, &expected.finish());
            assert_eq!(array.null_count(), values.iter().filter(|v| v.is_none()).count());
        }
    }
}
