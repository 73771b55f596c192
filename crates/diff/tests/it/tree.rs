use scal3ml_diff::{DiffError, DiffOptions, FileStatus, diff_dirs};

#[test]
fn folders_by_relative_path() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [&a, &b] {
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/same.txt"), "same").unwrap();
    }
    std::fs::write(a.path().join("data.csv"), "id,v\n1,x\n2,y\n").unwrap();
    std::fs::write(b.path().join("data.csv"), "id,v\n1,x\n").unwrap();
    std::fs::write(a.path().join("old.bin"), [0u8; 3]).unwrap();
    std::fs::write(b.path().join("sub/new.bin"), [1u8; 5]).unwrap();
    // A broken file in a folder is reported and the others are still compared.
    std::fs::write(a.path().join("bad.jsonl"), "{}\n").unwrap();
    std::fs::write(b.path().join("bad.jsonl"), "[1]\n").unwrap();
    let t = diff_dirs(a.path(), b.path(), &DiffOptions::default().with_key("id")).unwrap();
    let status: Vec<(&str, FileStatus)> = t
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.status))
        .collect();
    assert_eq!(
        status,
        [
            ("bad.jsonl", FileStatus::Changed),
            ("data.csv", FileStatus::Changed),
            ("old.bin", FileStatus::Removed),
            ("sub/new.bin", FileStatus::Added),
            ("sub/same.txt", FileStatus::Unchanged),
        ]
    );
    assert_eq!((t.added, t.removed, t.changed, t.unchanged), (1, 1, 2, 1));
    assert!(
        t.files[0]
            .error
            .as_ref()
            .unwrap()
            .contains("not a JSON object")
    );
    let text = t.render_text();
    assert!(text.contains(" D old.bin"), "{text}");
    assert!(text.contains("-1 removed"), "{text}");
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["files"][1]["content"]["kind"], "table");
    assert_eq!(
        json["files"][1]["content"]["removed"]["examples"][0]["values"]["id"],
        2
    );
}

#[test]
fn two_single_files_compare_whatever_their_names() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("v1.csv"), d.path().join("v2.csv"));
    std::fs::write(&a, "x\n1\n").unwrap();
    std::fs::write(&b, "x\n1\n2\n").unwrap();
    let t = diff_dirs(&a, &b, &DiffOptions::default()).unwrap();
    assert_eq!(t.files.len(), 1);
    assert_eq!(t.files[0].path, "v2.csv");
    let e = diff_dirs(&a, d.path(), &DiffOptions::default()).unwrap_err();
    assert!(matches!(e, DiffError::KindMismatch { .. }), "{e}");
}
