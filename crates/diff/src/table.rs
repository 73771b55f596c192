//! Tables compared row by row: CSV (header row), JSON Lines (one object per line) and NPY (rows of the first
//! axis, columns `0`, `1`, ...). Three streaming passes per file: statistics and schema; 16-byte hashes of
//! each row's key and content; then the example rows shown, found again by their hashes. Only the hashes
//! stay in memory: one 32-byte entry per key (old rows plus added rows) keyed, one 20-byte entry per
//! distinct row by content.

use crate::{
    Format,
    error::{DiffError, DiffResult, io_err},
    input::{Input, Reader},
    npy::NpyReader,
    stats::{Cell, ColumnAcc, ColumnStats, ColumnType},
};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::{
    collections::{HashMap, hash_map::Entry},
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
};

/// Two versions of a table compared.
#[derive(Debug, Clone, Serialize)]
pub struct TableDiff {
    /// `csv`, `jsonl` or `npy`.
    pub format: String,
    /// The key column rows were matched by, or `None` when matched by content.
    pub key: Option<String>,
    /// Rows in the old version.
    pub rows_old: u64,
    /// Rows in the new version.
    pub rows_new: u64,
    /// Rows found in both, the same on the columns both versions have.
    pub unchanged: u64,
    /// Columns added, removed or retyped; for NPY, the dtype and shape.
    pub schema: SchemaDiff,
    /// Rows only in the new version.
    pub added: RowSet,
    /// Rows only in the old version.
    pub removed: RowSet,
    /// Rows with the same key and other values (keyed comparisons only).
    pub changed: Option<ChangedRows>,
    /// Per-column statistics, old beside new: the old version's columns in order, then the new ones.
    pub columns: Vec<ColumnStatsDiff>,
}

impl TableDiff {
    /// Whether the rows or the schema differ.
    pub fn is_empty(&self) -> bool {
        self.added.count == 0
            && self.removed.count == 0
            && self.changed.as_ref().is_none_or(|c| c.count == 0)
            && self.schema.is_empty()
    }
}

/// Schema changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SchemaDiff {
    /// Columns only in the new version.
    pub added: Vec<Column>,
    /// Columns only in the old version.
    pub removed: Vec<Column>,
    /// Columns in both whose inferred type differs.
    pub type_changed: Vec<TypeChange>,
    /// For NPY: the arrays' dtype and shape, old and new.
    pub array: Option<ArrayChange>,
}

impl SchemaDiff {
    /// Whether no column was added, removed or retyped and the NPY dtype and columns are the same.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.type_changed.is_empty()
            && self.array.as_ref().is_none_or(|a| {
                a.old.dtype == a.new.dtype && a.old.shape.get(1) == a.new.shape.get(1)
            })
    }
}

/// A column and its inferred type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The name.
    pub name: String,
    /// The type inferred from its values.
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// A column whose type changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeChange {
    /// The column.
    pub name: String,
    /// Its old type.
    pub old: ColumnType,
    /// Its new type.
    pub new: ColumnType,
}

/// An NPY array's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArrayInfo {
    /// As in the header, e.g. `<f4`.
    pub dtype: String,
    /// The shape.
    pub shape: Vec<u64>,
}

/// Both versions' NPY layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArrayChange {
    /// Old.
    pub old: ArrayInfo,
    /// New.
    pub new: ArrayInfo,
}

/// Rows added or removed: how many, and the first few in file order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RowSet {
    /// How many.
    pub count: u64,
    /// Up to `max_examples` of them.
    pub examples: Vec<ExampleRow>,
}

/// One row shown.
#[derive(Debug, Clone, Serialize)]
pub struct ExampleRow {
    /// Its 1-based data row number in its file (the header not counted).
    pub row: u64,
    /// Its values by column.
    pub values: Map<String, Value>,
}

/// Rows with the same key and other values.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangedRows {
    /// How many.
    pub count: u64,
    /// Up to `max_examples` of them, in the new file's order.
    pub examples: Vec<ChangedRow>,
}

/// One changed row.
#[derive(Debug, Clone, Serialize)]
pub struct ChangedRow {
    /// The key's value.
    pub key: Value,
    /// Its row number in the old file.
    pub old_row: u64,
    /// Its row number in the new file.
    pub new_row: u64,
    /// The columns (of those both versions have) whose value changed.
    pub changes: Vec<CellChange>,
}

/// One value changed.
#[derive(Debug, Clone, Serialize)]
pub struct CellChange {
    /// The column.
    pub column: String,
    /// The old value.
    pub old: Value,
    /// The new value.
    pub new: Value,
}

/// One column's statistics in both versions.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnStatsDiff {
    /// The column.
    pub name: String,
    /// In the old version, if it has the column.
    pub old: Option<ColumnStats>,
    /// In the new version, if it has the column.
    pub new: Option<ColumnStats>,
}

/// A table read one row at a time.
struct Rows {
    path: PathBuf,
    source: Source,
    /// The current row's columns and values (for JSON Lines, this row's fields).
    names: Vec<String>,
    cells: Vec<Cell>,
    /// 1-based number of the current data row.
    row: u64,
}

enum Source {
    Csv(Box<csv::Reader<BufReader<Reader>>>, csv::StringRecord),
    Jsonl {
        reader: BufReader<Reader>,
        line: String,
        number: u64,
        object: Map<String, Value>,
    },
    Npy(Box<NpyReader>),
}

impl Rows {
    fn open(format: Format, input: &Input) -> DiffResult<Self> {
        let path = input.path();
        let (source, names) = match format {
            Format::Csv => {
                let file = input.open()?;
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .from_reader(BufReader::with_capacity(1 << 20, file));
                let names: Vec<String> = reader
                    .headers()
                    .map_err(|e| csv_error(path, e))?
                    .iter()
                    .map(str::to_string)
                    .collect();
                let mut seen = std::collections::HashSet::new();
                if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
                    return Err(DiffError::Table {
                        path: path.to_owned(),
                        line: 1,
                        message: format!(
                            "the header names column {dup:?} twice: give each column its own name"
                        ),
                    });
                }
                (
                    Source::Csv(Box::new(reader), csv::StringRecord::new()),
                    names,
                )
            }
            Format::Jsonl => {
                let file = input.open()?;
                (
                    Source::Jsonl {
                        reader: BufReader::with_capacity(1 << 20, file),
                        line: String::new(),
                        number: 0,
                        object: Map::new(),
                    },
                    Vec::new(),
                )
            }
            Format::Npy => {
                let reader = NpyReader::open(input)?;
                let names = reader.column_names();
                (Source::Npy(Box::new(reader)), names)
            }
            _ => unreachable!("only tables are read as rows"),
        };
        Ok(Self {
            path: path.to_owned(),
            source,
            names,
            cells: Vec::new(),
            row: 0,
        })
    }

    /// Whether the columns are the same for every row (CSV, NPY) and known before the first.
    fn fixed(&self) -> bool {
        !matches!(self.source, Source::Jsonl { .. })
    }

    /// Reads the next row; `false` at the end.
    fn advance(&mut self) -> DiffResult<bool> {
        match &mut self.source {
            Source::Csv(reader, record) => {
                if !reader
                    .read_record(record)
                    .map_err(|e| csv_error(&self.path, e))?
                {
                    return Ok(false);
                }
                self.cells.clear();
                self.cells.extend(record.iter().map(Cell::from_text));
            }
            Source::Jsonl {
                reader,
                line,
                number,
                object,
            } => loop {
                line.clear();
                let n = reader.read_line(line).map_err(io_err(&self.path))?;
                if n == 0 {
                    return Ok(false);
                }
                *number += 1;
                if line.trim().is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(line).map_err(|e| DiffError::Table {
                    path: self.path.clone(),
                    line: *number,
                    message: format!(
                        "not JSON ({e}): JSON Lines files hold one JSON object per line"
                    ),
                })?;
                let Value::Object(map) = value else {
                    return Err(DiffError::Table {
                        path: self.path.clone(),
                        line: *number,
                        message:
                            "not a JSON object: each line must be an object such as {\"id\": 1}"
                                .into(),
                    });
                };
                *object = map;
                self.names.clear();
                self.cells.clear();
                for (k, v) in object.iter() {
                    self.names.push(k.clone());
                    self.cells.push(Cell::from_json(v));
                }
                break;
            },
            Source::Npy(reader) => {
                if !reader.next_row(&mut self.cells)? {
                    return Ok(false);
                }
            }
        }
        self.row += 1;
        Ok(true)
    }

    /// The current row's value in a column.
    fn get(&self, column: &Projected) -> Cell {
        match (&self.source, column.index) {
            (Source::Jsonl { object, .. }, _) => object
                .get(&column.name)
                .map(Cell::from_json)
                .unwrap_or(Cell::Null),
            (_, Some(i)) => self.cells[i].clone(),
            (_, None) => Cell::Null,
        }
    }

    fn example(&self) -> ExampleRow {
        ExampleRow {
            row: self.row,
            values: self
                .names
                .iter()
                .zip(&self.cells)
                .map(|(n, c)| (n.clone(), c.to_json()))
                .collect(),
        }
    }

    /// Where the file is, for errors: the line for JSON Lines, the row otherwise.
    fn position(&self) -> u64 {
        match &self.source {
            Source::Jsonl { number, .. } => *number,
            _ => self.row,
        }
    }
}

fn csv_error(path: &Path, e: csv::Error) -> DiffError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "{len} fields where the header has {expected_len}: quote fields that contain commas, and give every row \
             as many fields as the header"
        ),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text: save the CSV as UTF-8".into(),
        _ => e.to_string(),
    };
    DiffError::Table {
        path: path.to_owned(),
        line,
        message,
    }
}

/// A column looked up in every row: by position where columns are fixed.
struct Projected {
    name: String,
    index: Option<usize>,
}

fn project(rows: &Rows, columns: &[String]) -> Vec<Projected> {
    columns
        .iter()
        .map(|name| Projected {
            name: name.clone(),
            index: if rows.fixed() {
                rows.names.iter().position(|n| n == name)
            } else {
                None
            },
        })
        .collect()
}

type Hash16 = [u8; 16];

fn hash_cells(cells: impl Iterator<Item = Cell>) -> Hash16 {
    let mut h = Sha256::new();
    for c in cells {
        c.hash_into(&mut h);
    }
    h.finalize()[..16].try_into().expect("16 bytes")
}

/// Schema and statistics of one file (pass 1).
struct Scan {
    rows: u64,
    columns: Vec<String>,
    stats: Vec<ColumnAcc>,
    array: Option<ArrayInfo>,
}

impl Scan {
    fn kind(&self, name: &str) -> Option<ColumnType> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.stats[i].finish(self.rows).kind)
    }

    fn finish(&self, name: &str) -> Option<ColumnStats> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.stats[i].finish(self.rows))
    }
}

/// Columns of a JSON Lines file beyond which it is refused (each keeps statistics).
const MAX_COLUMNS: usize = 10_000;

fn scan(format: Format, input: &Input) -> DiffResult<Scan> {
    let path = input.path();
    let mut rows = Rows::open(format, input)?;
    let mut columns: Vec<String> = rows.names.clone();
    let mut stats: Vec<ColumnAcc> = vec![ColumnAcc::default(); columns.len()];
    let mut index: HashMap<String, usize> = columns
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, c)| (c, i))
        .collect();
    let array = match &rows.source {
        Source::Npy(r) => Some(ArrayInfo {
            dtype: r.dtype.clone(),
            shape: r.shape.clone(),
        }),
        _ => None,
    };
    while rows.advance()? {
        if rows.fixed() {
            for (acc, cell) in stats.iter_mut().zip(&rows.cells) {
                acc.add(cell);
            }
        } else {
            for (name, cell) in rows.names.iter().zip(&rows.cells) {
                let i = match index.get(name) {
                    Some(&i) => i,
                    None => {
                        if columns.len() == MAX_COLUMNS {
                            return Err(DiffError::Table {
                                path: path.to_owned(),
                                line: rows.position(),
                                message: format!(
                                    "more than {MAX_COLUMNS} distinct field names: this is not a table"
                                ),
                            });
                        }
                        columns.push(name.clone());
                        stats.push(ColumnAcc::default());
                        index.insert(name.clone(), columns.len() - 1);
                        columns.len() - 1
                    }
                };
                stats[i].add(cell);
            }
        }
    }
    Ok(Scan {
        rows: rows.row,
        columns,
        stats,
        array,
    })
}

/// A changed row found in pass 2, completed from the old file in pass 3.
struct Pending {
    key: Cell,
    key_hash: Hash16,
    new_row: u64,
    new_cells: Vec<Cell>,
    old: Option<(u64, Vec<Cell>)>,
}

/// The value of a key seen in the new version (matched or added): never a real row hash.
const SEEN: Hash16 = [0xff; 16];

pub(crate) fn diff(
    format: Format,
    old: &Input,
    new: &Input,
    opts: &crate::DiffOptions,
) -> DiffResult<TableDiff> {
    let (a, b) = (scan(format, old)?, scan(format, new)?);
    if let Some(key) = &opts.key {
        for (path, s) in [(old, &a), (new, &b)] {
            if !s.columns.contains(key) {
                return Err(DiffError::KeyMissing {
                    path: path.path().to_owned(),
                    key: key.clone(),
                    columns: if s.columns.is_empty() {
                        "none".into()
                    } else {
                        s.columns.join(", ")
                    },
                });
            }
        }
    }
    let mut common: Vec<String> = a
        .columns
        .iter()
        .filter(|c| b.columns.contains(c) && Some(*c) != opts.key.as_ref())
        .cloned()
        .collect();
    common.sort();
    let mut schema = SchemaDiff::default();
    for c in &a.columns {
        match b.kind(c) {
            None => schema.removed.push(Column {
                name: c.clone(),
                kind: a.kind(c).expect("own column"),
            }),
            Some(new_kind) => {
                let old_kind = a.kind(c).expect("own column");
                // A column that was all empty on one side did not change type.
                if old_kind != new_kind
                    && old_kind != ColumnType::Null
                    && new_kind != ColumnType::Null
                {
                    schema.type_changed.push(TypeChange {
                        name: c.clone(),
                        old: old_kind,
                        new: new_kind,
                    });
                }
            }
        }
    }
    for c in &b.columns {
        if a.kind(c).is_none() {
            schema.added.push(Column {
                name: c.clone(),
                kind: b.kind(c).expect("own column"),
            });
        }
    }
    if let (Some(o), Some(n)) = (&a.array, &b.array) {
        schema.array = Some(ArrayChange {
            old: o.clone(),
            new: n.clone(),
        });
    }
    let mut columns: Vec<ColumnStatsDiff> = a
        .columns
        .iter()
        .map(|c| ColumnStatsDiff {
            name: c.clone(),
            old: a.finish(c),
            new: b.finish(c),
        })
        .collect();
    columns.extend(
        b.columns
            .iter()
            .filter(|c| !a.columns.contains(c))
            .map(|c| ColumnStatsDiff {
                name: c.clone(),
                old: None,
                new: b.finish(c),
            }),
    );

    let max = opts.max_examples;
    let mut out = TableDiff {
        format: format.name().into(),
        key: opts.key.clone(),
        rows_old: a.rows,
        rows_new: b.rows,
        unchanged: 0,
        schema,
        added: RowSet::default(),
        removed: RowSet::default(),
        changed: None,
        columns,
    };
    match &opts.key {
        Some(key) => keyed(format, old, new, key, &common, a.rows, max, &mut out)?,
        None => by_content(format, old, new, &common, max, &mut out)?,
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn keyed(
    format: Format,
    old: &Input,
    new: &Input,
    key: &str,
    common: &[String],
    old_rows: u64,
    max: usize,
    out: &mut TableDiff,
) -> DiffResult<()> {
    let key_col = [key.to_string()];
    // Pass 2, old: key hash -> row hash.
    let mut map: HashMap<Hash16, Hash16> = HashMap::with_capacity(old_rows as usize);
    let mut rows = Rows::open(format, old)?;
    let (kp, cp) = (project(&rows, &key_col), project(&rows, common));
    while rows.advance()? {
        let k = rows.get(&kp[0]);
        let kh = hash_cells(std::iter::once(k.clone()));
        let rh = hash_cells(cp.iter().map(|c| rows.get(c)));
        if map.insert(kh, rh).is_some() {
            return Err(duplicate(old.path(), key, &k, rows.row));
        }
    }
    // Pass 2, new: each key matched (same or changed) or added, then marked seen.
    let mut changed = ChangedRows::default();
    let mut pending: Vec<Pending> = Vec::new();
    let mut rows = Rows::open(format, new)?;
    let (kp, cp) = (project(&rows, &key_col), project(&rows, common));
    while rows.advance()? {
        let k = rows.get(&kp[0]);
        let kh = hash_cells(std::iter::once(k.clone()));
        let cells: Vec<Cell> = cp.iter().map(|c| rows.get(c)).collect();
        let rh = hash_cells(cells.iter().cloned());
        match map.entry(kh) {
            Entry::Vacant(e) => {
                e.insert(SEEN);
                out.added.count += 1;
                if out.added.examples.len() < max {
                    out.added.examples.push(rows.example());
                }
            }
            Entry::Occupied(mut e) => {
                let was = std::mem::replace(e.get_mut(), SEEN);
                if was == SEEN {
                    return Err(duplicate(new.path(), key, &k, rows.row));
                }
                if was == rh {
                    out.unchanged += 1;
                } else {
                    changed.count += 1;
                    if pending.len() < max {
                        pending.push(Pending {
                            key: k,
                            key_hash: kh,
                            new_row: rows.row,
                            new_cells: cells,
                            old: None,
                        });
                    }
                }
            }
        }
    }
    out.removed.count = map.values().filter(|v| **v != SEEN).count() as u64;
    // Pass 3, old: the removed rows shown and the old side of changed rows.
    let by_key: HashMap<Hash16, usize> = pending
        .iter()
        .enumerate()
        .map(|(i, p)| (p.key_hash, i))
        .collect();
    let mut found = 0;
    let mut rows = Rows::open(format, old)?;
    let (kp, cp) = (project(&rows, &key_col), project(&rows, common));
    while (found < pending.len()
        || (out.removed.examples.len() as u64) < out.removed.count.min(max as u64))
        && rows.advance()?
    {
        let kh = hash_cells(std::iter::once(rows.get(&kp[0])));
        if let Some(&i) = by_key.get(&kh) {
            pending[i].old = Some((rows.row, cp.iter().map(|c| rows.get(c)).collect()));
            found += 1;
        } else if out.removed.examples.len() < max && map.get(&kh).is_some_and(|v| *v != SEEN) {
            out.removed.examples.push(rows.example());
        }
    }
    for p in pending {
        let (old_row, old_cells) = p.old.expect("every changed key is in the old file");
        let changes = common
            .iter()
            .zip(old_cells.iter().zip(&p.new_cells))
            .filter(|(_, (o, n))| {
                let (mut ho, mut hn) = (Sha256::new(), Sha256::new());
                o.hash_into(&mut ho);
                n.hash_into(&mut hn);
                ho.finalize() != hn.finalize()
            })
            .map(|(c, (o, n))| CellChange {
                column: c.clone(),
                old: o.to_json(),
                new: n.to_json(),
            })
            .collect();
        changed.examples.push(ChangedRow {
            key: p.key.to_json(),
            old_row,
            new_row: p.new_row,
            changes,
        });
    }
    out.changed = Some(changed);
    Ok(())
}

fn duplicate(path: &Path, key: &str, value: &Cell, row: u64) -> DiffError {
    DiffError::DuplicateKey {
        path: path.to_owned(),
        key: key.into(),
        value: value.to_json().to_string(),
        row,
    }
}

fn by_content(
    format: Format,
    old: &Input,
    new: &Input,
    common: &[String],
    max: usize,
    out: &mut TableDiff,
) -> DiffResult<()> {
    // Pass 2: +1 per old row, -1 per new row, by content hash.
    let mut counts: HashMap<Hash16, i32> = HashMap::new();
    for (path, step) in [(old, 1), (new, -1)] {
        let mut rows = Rows::open(format, path)?;
        let cp = project(&rows, common);
        while rows.advance()? {
            *counts
                .entry(hash_cells(cp.iter().map(|c| rows.get(c))))
                .or_default() += step;
        }
    }
    counts.retain(|_, n| *n != 0);
    out.removed.count = counts.values().filter(|n| **n > 0).map(|n| *n as u64).sum();
    out.added.count = counts
        .values()
        .filter(|n| **n < 0)
        .map(|n| n.unsigned_abs() as u64)
        .sum();
    out.unchanged = out.rows_old - out.removed.count;
    // Pass 3: the first rows in each file whose content the other has fewer times.
    for (path, step) in [(old, 1), (new, -1)] {
        let set = if step > 0 {
            &mut out.removed
        } else {
            &mut out.added
        };
        let want = set.count.min(max as u64) as usize;
        let mut rows = Rows::open(format, path)?;
        let cp = project(&rows, common);
        while set.examples.len() < want && rows.advance()? {
            let h = hash_cells(cp.iter().map(|c| rows.get(c)));
            if let Some(n) = counts.get_mut(&h)
                && *n * step > 0
            {
                *n -= step;
                set.examples.push(rows.example());
            }
        }
    }
    Ok(())
}
