//! Text for people: a `git diff --stat`-like list of files, then per file what changed, with tables.

use crate::{
    ContentDiff, FileDiff, FileStatus, TreeDiff,
    model::{IoChange, ModelDiff},
    stats::ColumnStats,
    table::{ExampleRow, TableDiff},
};
use std::fmt::Write as _;

/// Tensors, inputs or operators listed before "... and N more".
const MAX_LINES: usize = 50;

fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn row_text(r: &ExampleRow) -> String {
    let mut s = format!("row {}: ", r.row);
    let cells: Vec<String> = r.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let joined = cells.join(", ");
    if joined.chars().count() > 200 {
        s.extend(joined.chars().take(200));
        s.push_str(" ...");
    } else {
        s.push_str(&joined);
    }
    s
}

impl TreeDiff {
    /// A human summary: one line per file (`A`, `D`, `M`), totals, then what changed inside each file.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let width = self
            .files
            .iter()
            .map(|f| f.path.len())
            .max()
            .unwrap_or(0)
            .min(60);
        for f in &self.files {
            let (mark, sizes) = match f.status {
                FileStatus::Added => ("A", size(f.new.as_ref().map_or(0, |s| s.size))),
                FileStatus::Removed => ("D", size(f.old.as_ref().map_or(0, |s| s.size))),
                FileStatus::Changed => (
                    "M",
                    format!(
                        "{} -> {}",
                        size(f.old.as_ref().map_or(0, |s| s.size)),
                        size(f.new.as_ref().map_or(0, |s| s.size))
                    ),
                ),
                FileStatus::Unchanged => ("=", size(f.new.as_ref().map_or(0, |s| s.size))),
            };
            let _ = writeln!(out, " {mark} {:<width$}  {sizes}", f.path);
        }
        let _ = writeln!(
            out,
            "{}: {} changed, {} added, {} removed, {} unchanged",
            plural(self.files.len() as u64, "file", "files"),
            self.changed,
            self.added,
            self.removed,
            self.unchanged
        );
        for f in &self.files {
            if f.content.is_some() || f.error.is_some() {
                out.push('\n');
                out.push_str(&f.render_text());
            }
        }
        out
    }
}

impl FileDiff {
    /// What changed inside the file (or why it could not be compared).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} ({})", self.path, self.format);
        if let Some(e) = &self.error {
            let _ = writeln!(out, "  not compared: {e}");
        }
        match &self.content {
            Some(ContentDiff::Table(t)) => out.push_str(&t.render_text()),
            Some(ContentDiff::Model(m)) => out.push_str(&m.render_text()),
            None if self.error.is_none() => {
                let same =
                    self.old.as_ref().map(|s| &s.sha256) == self.new.as_ref().map(|s| &s.sha256);
                let _ = writeln!(
                    out,
                    "  {}",
                    if same { "same bytes" } else { "bytes differ" }
                );
            }
            None => {}
        }
        out
    }
}

fn stats_cells(s: Option<&ColumnStats>) -> [String; 7] {
    match s {
        None => std::array::from_fn(|i| if i == 0 { "-".into() } else { String::new() }),
        Some(s) => [
            s.kind.name().into(),
            s.count.to_string(),
            s.nulls.to_string(),
            s.min.map(num).unwrap_or_default(),
            s.max.map(num).unwrap_or_default(),
            s.mean.map(num).unwrap_or_default(),
            format!("{}{}", if s.distinct_exact { "" } else { "~" }, s.distinct),
        ],
    }
}

impl TableDiff {
    /// Rows, schema, example rows and a column statistics table.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let by = match &self.key {
            Some(k) => format!("matched by key column {k:?}"),
            None => "matched by content".into(),
        };
        let changed = self.changed.as_ref().map(|c| c.count);
        let _ = writeln!(
            out,
            "  rows: {} -> {} ({by}): +{} added, -{} removed, {}{} unchanged",
            self.rows_old,
            self.rows_new,
            self.added.count,
            self.removed.count,
            changed
                .map(|c| format!("~{c} changed, "))
                .unwrap_or_default(),
            self.unchanged
        );
        let s = &self.schema;
        if let Some(a) = &s.array {
            let shape = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                out,
                "  array: {} ({}) -> {} ({})",
                a.old.dtype,
                shape(&a.old.shape),
                a.new.dtype,
                shape(&a.new.shape)
            );
        }
        for c in &s.added {
            let _ = writeln!(out, "  + column {} ({})", c.name, c.kind.name());
        }
        for c in &s.removed {
            let _ = writeln!(out, "  - column {} ({})", c.name, c.kind.name());
        }
        for c in &s.type_changed {
            let _ = writeln!(
                out,
                "  ~ column {}: {} -> {}",
                c.name,
                c.old.name(),
                c.new.name()
            );
        }
        let shown = |n: usize, total: u64| {
            if n as u64 == total {
                String::new()
            } else {
                format!(", first {n} shown")
            }
        };
        if self.removed.count > 0 {
            let _ = writeln!(
                out,
                "  removed rows ({}{}):",
                self.removed.count,
                shown(self.removed.examples.len(), self.removed.count)
            );
            for r in &self.removed.examples {
                let _ = writeln!(out, "    - {}", row_text(r));
            }
        }
        if self.added.count > 0 {
            let _ = writeln!(
                out,
                "  added rows ({}{}):",
                self.added.count,
                shown(self.added.examples.len(), self.added.count)
            );
            for r in &self.added.examples {
                let _ = writeln!(out, "    + {}", row_text(r));
            }
        }
        if let Some(c) = self.changed.as_ref().filter(|c| c.count > 0) {
            let _ = writeln!(
                out,
                "  changed rows ({}{}):",
                c.count,
                shown(c.examples.len(), c.count)
            );
            for r in &c.examples {
                let changes: Vec<String> = r
                    .changes
                    .iter()
                    .map(|ch| format!("{}: {} -> {}", ch.column, ch.old, ch.new))
                    .collect();
                let _ = writeln!(
                    out,
                    "    ~ {}={} (rows {} -> {}): {}",
                    self.key.as_deref().unwrap_or("key"),
                    r.key,
                    r.old_row,
                    r.new_row,
                    changes.join("; ")
                );
            }
        }
        if !self.columns.is_empty() {
            let header = [
                "column", "", "type", "count", "nulls", "min", "max", "mean", "distinct",
            ];
            let mut lines: Vec<[String; 9]> = Vec::new();
            for c in self.columns.iter().take(MAX_LINES) {
                for (side, stats) in [("old", c.old.as_ref()), ("new", c.new.as_ref())] {
                    let [a, b, cc, d, e, f, g] = stats_cells(stats);
                    let name = if side == "old" {
                        c.name.clone()
                    } else {
                        String::new()
                    };
                    lines.push([name, side.into(), a, b, cc, d, e, f, g]);
                }
            }
            let mut widths = header.map(str::len);
            for l in &lines {
                for (w, cell) in widths.iter_mut().zip(l) {
                    *w = (*w).max(cell.chars().count()).min(24);
                }
            }
            let _ = writeln!(out, "  columns:");
            let fmt_line = |cells: &[String]| {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(widths)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        if i < 3 {
                            format!("{c:<w$}")
                        } else {
                            format!("{c:>w$}")
                        }
                    })
                    .collect();
                format!("    {}", parts.join("  ").trim_end())
            };
            let _ = writeln!(out, "{}", fmt_line(&header.map(String::from)));
            for l in &lines {
                let _ = writeln!(out, "{}", fmt_line(l));
            }
            if self.columns.len() > MAX_LINES {
                let _ = writeln!(
                    out,
                    "    ... and {} more columns (see --json)",
                    self.columns.len() - MAX_LINES
                );
            }
        }
        out
    }
}

fn io_lines(out: &mut String, what: &str, io: &IoChange) {
    for i in &io.added {
        let _ = writeln!(out, "  + {what} {}: {}", i.name, i.kind);
    }
    for i in &io.removed {
        let _ = writeln!(out, "  - {what} {}: {}", i.name, i.kind);
    }
    for (o, n) in &io.changed {
        let _ = writeln!(out, "  ~ {what} {}: {} -> {}", o.name, o.kind, n.kind);
    }
}

impl ModelDiff {
    /// Parameter counts, inputs and outputs, operators and the tensors that differ.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let (o, n) = (&self.old, &self.new);
        let delta = n.parameters as i128 - o.parameters as i128;
        let _ = writeln!(
            out,
            "  parameters: {} -> {} ({delta:+}), tensors: {} -> {} ({})",
            o.parameters,
            n.parameters,
            o.tensors,
            n.tensors,
            size(n.tensor_bytes)
        );
        if o.producer != n.producer {
            let _ = writeln!(
                out,
                "  producer: {} -> {}",
                o.producer.as_deref().unwrap_or("-"),
                n.producer.as_deref().unwrap_or("-")
            );
        }
        if o.opsets != n.opsets {
            let fmt = |m: &std::collections::BTreeMap<String, i64>| {
                m.iter()
                    .map(|(d, v)| format!("{d} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(out, "  opsets: {} -> {}", fmt(&o.opsets), fmt(&n.opsets));
        }
        if !n.inputs.is_empty() || !n.outputs.is_empty() {
            let fmt = |v: &[crate::IoInfo]| {
                v.iter()
                    .map(|i| format!("{} {}", i.name, i.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(out, "  inputs: {}", fmt(&n.inputs));
            let _ = writeln!(out, "  outputs: {}", fmt(&n.outputs));
        }
        io_lines(&mut out, "input", &self.inputs);
        io_lines(&mut out, "output", &self.outputs);
        for c in self.ops_changed.iter().take(MAX_LINES) {
            let _ = writeln!(out, "  ~ op {}: {} -> {} nodes", c.op, c.old, c.new);
        }
        if o.metadata != n.metadata {
            let _ = writeln!(out, "  ~ metadata changed");
        }
        let shape = |s: &[u64]| {
            format!(
                "[{}]",
                s.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            )
        };
        let mut lines = Vec::new();
        for t in &self.tensors_added {
            lines.push(format!(
                "  + tensor {} {}{} ({} params)",
                t.name,
                t.dtype,
                shape(&t.shape),
                t.parameters
            ));
        }
        for t in &self.tensors_removed {
            lines.push(format!(
                "  - tensor {} {}{} ({} params)",
                t.name,
                t.dtype,
                shape(&t.shape),
                t.parameters
            ));
        }
        for r in &self.tensors_renamed {
            lines.push(format!("  > tensor {} renamed to {}", r.old, r.new));
        }
        for c in &self.tensors_changed {
            let mut what = Vec::new();
            if c.dtype_changed {
                what.push(format!("dtype {} -> {}", c.old.dtype, c.new.dtype));
            }
            if c.shape_changed {
                what.push(format!(
                    "shape {} -> {}",
                    shape(&c.old.shape),
                    shape(&c.new.shape)
                ));
            }
            if c.values_changed && !c.dtype_changed && !c.shape_changed {
                what.push("values".into());
            }
            lines.push(format!("  ~ tensor {}: {}", c.name, what.join(", ")));
        }
        let total = lines.len();
        for l in lines.iter().take(MAX_LINES) {
            let _ = writeln!(out, "{l}");
        }
        if total > MAX_LINES {
            let _ = writeln!(
                out,
                "  ... and {} more tensor changes (see --json)",
                total - MAX_LINES
            );
        }
        let _ = writeln!(
            out,
            "  tensors: +{} added, -{} removed, {} renamed, ~{} changed, {} unchanged",
            self.tensors_added.len(),
            self.tensors_removed.len(),
            self.tensors_renamed.len(),
            self.tensors_changed.len(),
            self.tensors_unchanged
        );
        out
    }
}
