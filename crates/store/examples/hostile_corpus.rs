//! Writes the hostile-content corpus to `testdata/hostile/` (or the folder given): one CAR per case, plus
//! `truncated.car`. `cargo run -p scal3ml-store --features test-utils --example hostile_corpus`; the store's tests
//! check that the committed files are exactly what this writes.

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/hostile").into());
    std::fs::create_dir_all(&dir)?;
    for case in scal3ml_store::hostile::corpus() {
        let path = format!("{dir}/{}.car", case.name);
        std::fs::write(&path, case.car())?;
        println!("{path}: {}", case.attack);
    }
    std::fs::write(
        format!("{dir}/truncated.car"),
        scal3ml_store::hostile::truncated_car(),
    )?;
    Ok(())
}
