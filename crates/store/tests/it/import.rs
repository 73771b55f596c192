//! The parallel file importer: any thread count and any read pattern give the same blocks in the same order,
//! and a failing reader or sink ends the import with that error instead of hanging it.

use std::io::{Cursor, Read};

use scal3ml_store::import::import_file;
use scal3ml_store::{Block, Cid, ImportOptions, StoreError, StoreResult};

fn noise(len: usize) -> Vec<u8> {
    scal3ml_store::testing::noise(len, 7)
}

/// A reader that hands out at most `step` bytes a call and fails once `fail_at` bytes were read.
struct Uneven {
    data: Vec<u8>,
    pos: usize,
    step: usize,
    fail_at: Option<usize>,
}

impl Read for Uneven {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.fail_at.is_some_and(|at| self.pos >= at) {
            return Err(std::io::Error::other("the disk went away"));
        }
        let n = buf.len().min(self.step).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Imports `reader` and returns the root and every block's CID in the order the sink saw them.
fn blocks(reader: impl Read + Send, opts: &ImportOptions) -> StoreResult<(Cid, Vec<Cid>)> {
    let mut seen = Vec::new();
    let mut sink = |block: Block| {
        seen.push(*block.cid());
        Ok(())
    };
    let root = import_file(reader, opts, &mut sink)?;
    Ok((root.cid, seen))
}

#[test]
fn thread_counts_and_short_reads_give_the_same_blocks_in_the_same_order() {
    // Small chunks and 3 links a node: hundreds of leaves, a tree five levels deep.
    let base = ImportOptions::kubo_v1()
        .with_chunk_size(1000)
        .with_max_links(3);
    for len in [0, 1, 999, 1000, 1001, 3000, 243_000, 250_123] {
        let data = noise(len);
        let expected = blocks(Cursor::new(data.clone()), &base.clone().with_threads(1)).unwrap();
        for threads in [2, 3, 8] {
            let opts = base.clone().with_threads(threads);
            assert_eq!(
                blocks(Cursor::new(data.clone()), &opts).unwrap(),
                expected,
                "{len} bytes, {threads} threads"
            );
            let uneven = Uneven {
                data: data.clone(),
                pos: 0,
                step: 333,
                fail_at: None,
            };
            assert_eq!(
                blocks(uneven, &opts).unwrap(),
                expected,
                "{len} bytes, {threads} threads, short reads"
            );
        }
        // Every block comes before any node that links to it, and the root comes last.
        assert_eq!(expected.1.last(), Some(&expected.0), "{len} bytes");
    }
}

#[test]
fn a_read_error_midway_ends_the_import_with_it() {
    let opts = ImportOptions::kubo_v1()
        .with_chunk_size(1000)
        .with_threads(2);
    let reader = Uneven {
        data: noise(500_000),
        pos: 0,
        step: 4096,
        fail_at: Some(120_000),
    };
    let err = blocks(reader, &opts).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("reading the file to import") && message.contains("the disk went away"),
        "{message}"
    );
}

#[test]
fn a_failing_sink_stops_the_workers_and_returns_its_error() {
    let opts = ImportOptions::kubo_v1()
        .with_chunk_size(1000)
        .with_threads(2);
    let mut stored = 0;
    let mut sink = |_: Block| {
        stored += 1;
        if stored == 50 {
            return Err(StoreError::invalid("disk full"));
        }
        Ok(())
    };
    let err = import_file(Cursor::new(noise(1_000_000)), &opts, &mut sink).unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(stored, 50, "nothing more reaches the sink after it failed");
}
