//! Cells, inferred column types and per-column summary statistics, accumulated one value at a time.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// One value of a table, typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A nested JSON array or object, as its JSON text.
    Json(String),
}

impl Cell {
    /// A CSV field: empty is null; `true`/`false` (any case) a bool; then an integer, a number, else text.
    pub(crate) fn from_text(text: &str) -> Self {
        if text.is_empty() {
            return Self::Null;
        }
        if text.eq_ignore_ascii_case("true") {
            return Self::Bool(true);
        }
        if text.eq_ignore_ascii_case("false") {
            return Self::Bool(false);
        }
        if let Ok(i) = text.parse::<i64>() {
            return Self::Int(i);
        }
        // Only text with a digit is a number: `inf`, `nan` and `NaN` stay text.
        if text.bytes().any(|b| b.is_ascii_digit())
            && let Ok(f) = text.parse::<f64>()
        {
            return Self::Float(f);
        }
        Self::Str(text.to_string())
    }

    /// A JSON value.
    pub(crate) fn from_json(value: &serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => Self::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Self::Str(s.clone()),
            other => Self::Json(other.to_string()),
        }
    }

    pub(crate) fn kind(&self) -> ColumnType {
        match self {
            Self::Null => ColumnType::Null,
            Self::Bool(_) => ColumnType::Bool,
            Self::Int(_) => ColumnType::Integer,
            Self::Float(_) => ColumnType::Float,
            Self::Str(_) => ColumnType::String,
            Self::Json(_) => ColumnType::Json,
        }
    }

    /// The value as JSON, for example rows.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(f.to_string())),
            Self::Str(s) => Value::String(s.clone()),
            Self::Json(text) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
        }
    }

    /// Feeds an unambiguous encoding of the value to a hasher: a tag byte, then the value (text length-prefixed).
    pub(crate) fn hash_into(&self, h: &mut Sha256) {
        match self {
            Self::Null => h.update([0]),
            Self::Bool(b) => h.update([1, *b as u8]),
            Self::Int(i) => {
                h.update([2]);
                h.update(i.to_le_bytes());
            }
            Self::Float(f) => {
                h.update([3]);
                // -0.0 and 0.0 are one value; every NaN is one value.
                let f = if *f == 0.0 {
                    0.0
                } else if f.is_nan() {
                    f64::NAN
                } else {
                    *f
                };
                h.update(f.to_bits().to_le_bytes());
            }
            Self::Str(s) | Self::Json(s) => {
                h.update([if matches!(self, Self::Str(_)) { 4 } else { 5 }]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(*i as f64),
            Self::Float(f) if !f.is_nan() => Some(*f),
            _ => None,
        }
    }
}

/// A column's type, inferred from every value in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Every value is empty or null.
    Null,
    /// `true`/`false`.
    Bool,
    /// Whole numbers that fit in 64 bits.
    Integer,
    /// Numbers (integers mixed with decimals are floats).
    Float,
    /// Text, or values of mixed types.
    String,
    /// Nested JSON arrays or objects.
    Json,
}

impl ColumnType {
    /// The type of a column holding values of both types.
    pub(crate) fn union(self, other: Self) -> Self {
        use ColumnType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, b) => b,
            (a, Null) => a,
            (Integer, Float) | (Float, Integer) => Float,
            _ => String,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool => "bool",
            Self::Integer => "integer",
            Self::Float => "float",
            Self::String => "string",
            Self::Json => "json",
        }
    }
}

/// Summary statistics of one column in one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnStats {
    /// The inferred type.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Values that are not null (a JSON Lines row without the field counts as null).
    pub count: u64,
    /// Null or empty values.
    pub nulls: u64,
    /// Smallest number (numeric columns).
    pub min: Option<f64>,
    /// Largest number (numeric columns).
    pub max: Option<f64>,
    /// Mean of the numbers (numeric columns).
    pub mean: Option<f64>,
    /// Distinct non-null values: exact up to 1,024, then a HyperLogLog estimate (about 1.6% error).
    pub distinct: u64,
    /// Whether `distinct` is exact.
    pub distinct_exact: bool,
}

/// Values up to which distinct counts are exact.
const EXACT_DISTINCT: usize = 1024;
/// HyperLogLog precision: 2^12 one-byte registers per column.
const HLL_BITS: u32 = 12;

/// Accumulates one column's statistics.
#[derive(Debug, Clone)]
pub(crate) struct ColumnAcc {
    kind: ColumnType,
    count: u64,
    numbers: u64,
    min: f64,
    max: f64,
    sum: f64,
    exact: Option<HashSet<u64>>,
    registers: Vec<u8>,
}

impl Default for ColumnAcc {
    fn default() -> Self {
        Self {
            kind: ColumnType::Null,
            count: 0,
            numbers: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            exact: Some(HashSet::new()),
            registers: Vec::new(),
        }
    }
}

impl ColumnAcc {
    pub(crate) fn add(&mut self, cell: &Cell) {
        self.kind = self.kind.union(cell.kind());
        if matches!(cell, Cell::Null) {
            return;
        }
        self.count += 1;
        if let Some(x) = cell.number() {
            self.numbers += 1;
            self.min = self.min.min(x);
            self.max = self.max.max(x);
            self.sum += x;
        }
        let mut h = Sha256::new();
        cell.hash_into(&mut h);
        let digest = h.finalize();
        let hash = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        match &mut self.exact {
            Some(set) => {
                set.insert(hash);
                if set.len() > EXACT_DISTINCT {
                    let set = self.exact.take().expect("present");
                    self.registers = vec![0; 1 << HLL_BITS];
                    for h in set {
                        self.hll_add(h);
                    }
                }
            }
            None => self.hll_add(hash),
        }
    }

    fn hll_add(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_BITS)) as usize;
        let rest = hash << HLL_BITS | 1 << (HLL_BITS - 1);
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    fn distinct(&self) -> (u64, bool) {
        if let Some(set) = &self.exact {
            return (set.len() as u64, true);
        }
        let m = self.registers.len() as f64;
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let mut estimate = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if estimate <= 2.5 * m && zeros > 0 {
            estimate = m * (m / zeros as f64).ln();
        }
        (estimate.round() as u64, false)
    }

    /// The statistics of a column seen in `rows` rows.
    pub(crate) fn finish(&self, rows: u64) -> ColumnStats {
        let numeric =
            matches!(self.kind, ColumnType::Integer | ColumnType::Float) && self.numbers > 0;
        let (distinct, distinct_exact) = self.distinct();
        ColumnStats {
            kind: self.kind,
            count: self.count,
            nulls: rows - self.count,
            min: numeric.then_some(self.min),
            max: numeric.then_some(self.max),
            mean: numeric.then(|| self.sum / self.numbers as f64),
            distinct,
            distinct_exact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_is_typed() {
        assert_eq!(Cell::from_text(""), Cell::Null);
        assert_eq!(Cell::from_text("12"), Cell::Int(12));
        assert_eq!(Cell::from_text("1.5"), Cell::Float(1.5));
        assert_eq!(Cell::from_text("True"), Cell::Bool(true));
        assert_eq!(Cell::from_text("nan"), Cell::Str("nan".into()));
    }

    #[test]
    fn distinct_counts_are_exact_then_close() {
        let mut acc = ColumnAcc::default();
        for i in 0..1000 {
            acc.add(&Cell::Int(i % 500));
        }
        assert_eq!(acc.finish(1000).distinct, 500);
        let mut acc = ColumnAcc::default();
        for i in 0..100_000 {
            acc.add(&Cell::Int(i));
        }
        let s = acc.finish(100_000);
        assert!(!s.distinct_exact);
        assert!(
            (s.distinct as f64 - 100_000.0).abs() < 5_000.0,
            "{}",
            s.distinct
        );
    }
}
