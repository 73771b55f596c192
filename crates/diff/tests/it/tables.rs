use scal3ml_diff::{ColumnType, ContentDiff, DiffError, DiffOptions, TableDiff, diff_files};
use std::{io::Write as _, path::PathBuf};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn table(old: &std::path::Path, new: &std::path::Path, opts: &DiffOptions) -> TableDiff {
    match diff_files(old, new, opts).unwrap().content {
        Some(ContentDiff::Table(t)) => *t,
        other => panic!("not a table: {other:?}"),
    }
}

#[test]
fn csv_keyed_shows_removed_added_and_changed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(
        &dir,
        "old.csv",
        "id,name,score\n1,a,0.5\n2,b,0.7\n3,c,0.9\n4,d,1.0\n",
    );
    let new = write(
        &dir,
        "new.csv",
        "id,name,score\n1,a,0.5\n3,c,0.95\n4,d,1.0\n5,e,0.1\n",
    );
    let t = table(&old, &new, &DiffOptions::default().with_key("id"));
    assert_eq!((t.rows_old, t.rows_new, t.unchanged), (4, 4, 2));
    assert_eq!(t.removed.count, 1);
    assert_eq!(t.removed.examples[0].values["id"], 2);
    assert_eq!(t.removed.examples[0].values["name"], "b");
    assert_eq!(t.added.count, 1);
    assert_eq!(t.added.examples[0].values["id"], 5);
    let changed = t.changed.as_ref().unwrap();
    assert_eq!(changed.count, 1);
    let row = &changed.examples[0];
    assert_eq!(
        (row.key.clone(), row.old_row, row.new_row),
        (3.into(), 3, 2)
    );
    assert_eq!(row.changes.len(), 1);
    assert_eq!(row.changes[0].column, "score");
    assert_eq!(
        (row.changes[0].old.clone(), row.changes[0].new.clone()),
        (0.9.into(), 0.95.into())
    );
    let text = t.render_text();
    assert!(text.contains("-1 removed"), "{text}");
    assert!(
        text.contains("id=3 (rows 3 -> 2): score: 0.9 -> 0.95"),
        "{text}"
    );
}

#[test]
fn csv_by_content_is_a_multiset_diff() {
    let dir = tempfile::tempdir().unwrap();
    // The cleaned version drops one of two duplicate rows and a row with a missing value; order does not matter.
    let old = write(&dir, "old.csv", "x,y\n1,a\n1,a\n2,\n3,c\n");
    let new = write(&dir, "new.csv", "x,y\n3,c\n1,a\n");
    let t = table(&old, &new, &DiffOptions::default());
    assert_eq!((t.added.count, t.removed.count, t.unchanged), (0, 2, 2));
    assert!(t.changed.is_none());
    let removed: Vec<u64> = t.removed.examples.iter().map(|r| r.row).collect();
    // Which copy of a duplicate counts as removed is the first one in the file.
    assert_eq!(
        removed,
        vec![1, 3],
        "one copy of 1,a and the row with a missing y"
    );
    let y = t.columns.iter().find(|c| c.name == "y").unwrap();
    assert_eq!(y.old.as_ref().unwrap().nulls, 1);
    assert_eq!(y.new.as_ref().unwrap().nulls, 0);
    let x = t
        .columns
        .iter()
        .find(|c| c.name == "x")
        .unwrap()
        .old
        .clone()
        .unwrap();
    assert_eq!(
        (x.kind, x.min, x.max, x.mean, x.distinct),
        (ColumnType::Integer, Some(1.0), Some(3.0), Some(1.75), 3)
    );
}

#[test]
fn schema_changes_are_named_and_rows_compare_on_shared_columns() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(&dir, "a.csv", "id,age,note\n1,30,x\n2,40,y\n");
    let new = write(&dir, "b.csv", "id,age,extra\n1,30.5,true\n2,40,false\n");
    let t = table(&old, &new, &DiffOptions::default().with_key("id"));
    assert_eq!(t.schema.added[0].name, "extra");
    assert_eq!(t.schema.added[0].kind, ColumnType::Bool);
    assert_eq!(t.schema.removed[0].name, "note");
    assert_eq!(t.schema.type_changed[0].name, "age");
    assert_eq!(
        (t.schema.type_changed[0].old, t.schema.type_changed[0].new),
        (ColumnType::Integer, ColumnType::Float)
    );
    // Row 2's age 40 == 40 on the shared columns: unchanged; row 1 changed.
    assert_eq!((t.unchanged, t.changed.as_ref().unwrap().count), (1, 1));
}

#[test]
fn jsonl_keyed() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(
        &dir,
        "a.jsonl",
        "{\"id\": \"u1\", \"tags\": [1]}\n{\"id\": \"u2\", \"v\": 1}\n\n",
    );
    let new = write(
        &dir,
        "b.jsonl",
        "{\"v\": 2, \"id\": \"u2\"}\n{\"id\": \"u3\"}\n",
    );
    let t = table(&old, &new, &DiffOptions::default().with_key("id"));
    assert_eq!(t.format, "jsonl");
    assert_eq!(
        (
            t.added.count,
            t.removed.count,
            t.changed.as_ref().unwrap().count
        ),
        (1, 1, 1)
    );
    assert_eq!(t.removed.examples[0].values["tags"], serde_json::json!([1]));
    let ch = &t.changed.as_ref().unwrap().examples[0];
    assert_eq!(
        (ch.changes[0].old.clone(), ch.changes[0].new.clone()),
        (1.into(), 2.into())
    );
    assert_eq!(t.schema.removed[0].kind, ColumnType::Json);
}

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn npy_rows_by_content_and_dtype_change() {
    let dir = tempfile::tempdir().unwrap();
    let f4: Vec<u8> = [1f32, 2., 3., 4., 5., 6.]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let f8: Vec<u8> = [1f64, 2., 5., 6., 7., 8.]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let (old, new) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    std::fs::write(&old, npy("<f4", "(3, 2)", &f4)).unwrap();
    std::fs::write(&new, npy("<f8", "(3, 2)", &f8)).unwrap();
    let t = table(&old, &new, &DiffOptions::default());
    let a = t.schema.array.as_ref().unwrap();
    assert_eq!((a.old.dtype.as_str(), a.new.dtype.as_str()), ("<f4", "<f8"));
    assert_eq!(a.new.shape, vec![3, 2]);
    // Values compare as numbers: [1,2] and [5,6] are in both, whatever the dtype.
    assert_eq!((t.unchanged, t.removed.count, t.added.count), (2, 1, 1));
    assert_eq!(t.removed.examples[0].values["0"], 3.0);
    assert_eq!(t.columns.len(), 2);
    // Keyed by column index.
    let t = table(&old, &new, &DiffOptions::default().with_key("0"));
    assert_eq!(t.unchanged, 2);
}

#[test]
fn npy_in_fortran_order_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.npy");
    let bytes = npy("<f8", "(1, 1)", &1f64.to_le_bytes());
    let at = bytes.windows(5).position(|w| w == b"False").unwrap();
    let mut fortran = bytes.clone();
    fortran[at..at + 5].copy_from_slice(b"True ");
    std::fs::write(&p, fortran).unwrap();
    let e = diff_files(&p, &p, &DiffOptions::default()).unwrap_err();
    assert!(matches!(e, DiffError::Npy { .. }), "{e}");
    assert!(e.to_string().contains("ascontiguousarray"), "{e}");
}

#[test]
fn key_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(&dir, "a.csv", "id,v\n1,a\n1,b\n");
    let new = write(&dir, "b.csv", "ident,v\n1,a\n");
    let e = diff_files(&old, &new, &DiffOptions::default().with_key("id")).unwrap_err();
    assert!(matches!(e, DiffError::KeyMissing { .. }), "{e}");
    assert!(e.to_string().contains("its columns are ident, v"), "{e}");
    let e = diff_files(&old, &old, &DiffOptions::default().with_key("id")).unwrap_err();
    assert!(matches!(e, DiffError::DuplicateKey { row: 2, .. }), "{e}");
    let bad = write(&dir, "bad.csv", "a,b\n1,2\n3\n");
    let e = diff_files(&bad, &new, &DiffOptions::default()).unwrap_err();
    assert!(e.to_string().contains("line 3"), "{e}");
    let missing = dir.path().join("nope.csv");
    let e = diff_files(&missing, &new, &DiffOptions::default()).unwrap_err();
    assert!(e.to_string().starts_with("cannot read"), "{e}");
}

#[test]
fn two_hundred_thousand_rows_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.csv"), dir.path().join("new.csv"));
    let mut a = std::io::BufWriter::new(std::fs::File::create(&old).unwrap());
    let mut b = std::io::BufWriter::new(std::fs::File::create(&new).unwrap());
    writeln!(a, "id,value,label").unwrap();
    writeln!(b, "id,value,label").unwrap();
    for i in 0..200_000u64 {
        writeln!(a, "{i},{},l{}", i * 3, i % 7).unwrap();
        // New: every 10th row removed, every 100th (of the rest) changed, 5,000 rows added at the end.
        if i % 10 == 0 {
            continue;
        }
        let value = if i % 100 == 1 { i * 3 + 1 } else { i * 3 };
        writeln!(b, "{i},{value},l{}", i % 7).unwrap();
    }
    for i in 200_000..205_000u64 {
        writeln!(b, "{i},{},l{}", i * 3, i % 7).unwrap();
    }
    drop((a, b));
    let t = table(&old, &new, &DiffOptions::default().with_key("id"));
    assert_eq!((t.rows_old, t.rows_new), (200_000, 185_000));
    assert_eq!(t.removed.count, 20_000);
    assert_eq!(t.added.count, 5_000);
    assert_eq!(t.changed.as_ref().unwrap().count, 2_000);
    assert_eq!(t.unchanged, 200_000 - 20_000 - 2_000);
    assert_eq!(t.removed.examples.len(), 20);
    assert_eq!(
        t.removed.examples[1].values["id"], 10,
        "examples in file order"
    );
    let id = t.columns[0].new.as_ref().unwrap();
    assert!(!id.distinct_exact);
    assert!(
        (id.distinct as f64 - 185_000.0).abs() < 185_000.0 * 0.05,
        "{}",
        id.distinct
    );
    let unkeyed = table(&old, &new, &DiffOptions::default());
    assert_eq!(
        (unkeyed.removed.count, unkeyed.added.count),
        (22_000, 7_000)
    );
}
