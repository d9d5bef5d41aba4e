//! Result tables: typed, nullable Arrow columns assembled by name and written to Parquet
//! atomically (a temporary file beside the target, fsynced, renamed into place).

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
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

    /// NaN becomes null.
    pub fn f64_nan_null(self, name: &str, values: impl IntoIterator<Item = f64>) -> Table {
        let mut b = Float64Builder::new();
        for v in values {
            b.append_option((!v.is_nan()).then_some(v));
        }
        self.push(name, true, Arc::new(b.finish()))
    }

    pub fn u32(self, name: &str, values: impl IntoIterator<Item = u32>) -> Table {
        let mut b = UInt32Builder::new();
        for v in values {
            b.append_value(v);
        }
        self.push(name, false, Arc::new(b.finish()))
    }

    pub fn u32_opt(self, name: &str, values: impl IntoIterator<Item = Option<u32>>) -> Table {
        let mut b = UInt32Builder::new();
        for v in values {
            b.append_option(v);
        }
        self.push(name, true, Arc::new(b.finish()))
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
