//! Every row of testdata/unixfs.tsv (CIDs produced by Kubo and js-ipfs-unixfs-importer) reproduced.

use std::io::Cursor;

use scal3ml_store::import::{DirEntry, build_directory, import_file};
use scal3ml_store::{Block, ImportOptions, StoreResult};

fn options(mode: &str) -> ImportOptions {
    match mode {
        "v0" => ImportOptions::kubo_v0(),
        "v1" => ImportOptions::kubo_v1(),
        "v1pb" => ImportOptions::kubo_v1().with_raw_leaves(false),
        other => panic!("unknown mode {other}"),
    }
}

/// Turns an input description of the TSV into bytes; None for directory rows.
fn file_input(desc: &str) -> Option<Vec<u8>> {
    if let Some(rest) = desc.strip_prefix('"') {
        let quoted = &rest[..rest.find('"').expect("closing quote")];
        return Some(quoted.replace("\\n", "\n").into_bytes());
    }
    if desc == "empty file" {
        return Some(Vec::new());
    }
    if let Some(n) = desc.strip_suffix(" zero bytes") {
        return Some(vec![0; n.parse().unwrap()]);
    }
    if let Some(n) = desc
        .strip_prefix("pattern(")
        .and_then(|r| r.strip_suffix(')'))
    {
        return Some(
            (0..n.parse::<usize>().unwrap())
                .map(|i| (i % 251) as u8)
                .collect(),
        );
    }
    if desc.starts_with("fill(") {
        let mut out = Vec::new();
        for part in desc.split(" + ") {
            let args = part
                .strip_prefix("fill(")
                .unwrap()
                .strip_suffix(')')
                .unwrap();
            let (n, b) = args.split_once(',').unwrap();
            let b = u8::from_str_radix(b.trim_start_matches("0x"), 16).unwrap();
            out.extend(std::iter::repeat_n(b, n.parse().unwrap()));
        }
        return Some(out);
    }
    None
}

fn hash_file(data: &[u8], opts: &ImportOptions) -> StoreResult<DirEntry> {
    let mut sink = |_: Block| Ok(());
    let root = import_file(Cursor::new(data.to_vec()), opts, &mut sink)?;
    Ok(DirEntry {
        name: String::new(),
        cid: root.cid,
        tsize: root.tsize,
        size: root.size,
    })
}

fn directory(desc: &str, opts: &ImportOptions) -> StoreResult<DirEntry> {
    let mut sink = |_: Block| Ok(());
    match desc {
        "empty directory" => build_directory(vec![], opts, &mut sink),
        r#"directory {hey: "Hey\n", hello/world: "World\n"}"# => {
            let named = |name: &str, e: DirEntry| DirEntry {
                name: name.into(),
                ..e
            };
            let world = named("world", hash_file(b"World\n", opts)?);
            let hello = named("hello", build_directory(vec![world], opts, &mut sink)?);
            let hey = named("hey", hash_file(b"Hey\n", opts)?);
            build_directory(vec![hey, hello], opts, &mut sink)
        }
        other => panic!("no builder for row {other:?}: teach this test the new row"),
    }
}

#[test]
fn every_golden_vector_row_is_reproduced() {
    let tsv = include_str!("../../../../testdata/unixfs.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .skip(1)
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (mode, desc, want) = (cols[0], cols[1], cols[2]);
        let opts = options(mode);
        let got = match file_input(desc) {
            Some(data) => hash_file(&data, &opts).unwrap().cid,
            None => directory(desc, &opts).unwrap().cid,
        };
        if got.to_string() != want {
            failures.push(format!("{mode} {desc}: got {got}, want {want}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 17, "rows in testdata/unixfs.tsv");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
