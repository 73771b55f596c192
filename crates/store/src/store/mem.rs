//! [`MemStore`]: blocks in a hash map, for tests and short-lived work. Keys are CIDv1, so a CIDv0 and the
//! CIDv1 of the same dag-pb bytes name one block, as on disk.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

use super::{BlockStore, BoxFuture, PinMode, PinSet, PinStore, walk_dag};
use crate::block::Block;
use crate::cid::{Cid, CidExt};
use crate::error::{StoreError, StoreResult};

/// An in-memory block store with pins. Blocks enter through [`Block`] (verified) and are verified again on
/// every read, as the [`BlockStore`] contract asks of every backend.
#[derive(Debug, Default)]
pub struct MemStore {
    blocks: Mutex<HashMap<Cid, Bytes>>,
    pins: Mutex<PinSet>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn blocks(&self) -> MutexGuard<'_, HashMap<Cid, Bytes>> {
        self.blocks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pin_set(&self) -> MutexGuard<'_, PinSet> {
        self.pins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores bytes under a CID without checking them: lets tests build DAGs no honest writer can produce
    /// (corrupt blocks, link cycles) to check that readers catch them.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn put_unchecked(&self, cid: Cid, data: Bytes) {
        self.blocks().insert(cid.to_v1(), data);
    }
}

impl BlockStore for MemStore {
    fn get<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<Bytes>> {
        Box::pin(async move {
            cid.supported()?;
            let data = self
                .blocks()
                .get(&cid.to_v1())
                .cloned()
                .ok_or(StoreError::NotFound { cid: *cid })?;
            cid.verify(&data)?;
            Ok(data)
        })
    }

    fn put(&self, block: Block) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let (cid, data) = block.into_parts();
            self.blocks().entry(cid.to_v1()).or_insert(data);
            Ok(())
        })
    }

    fn has<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move { Ok(self.blocks().contains_key(&cid.to_v1())) })
    }

    fn delete<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            self.blocks().remove(&cid.to_v1());
            Ok(())
        })
    }
}

impl PinStore for MemStore {
    fn pin<'a>(&'a self, cid: &'a Cid, mode: PinMode) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            match mode {
                PinMode::Recursive => walk_dag(self, cid, &mut Default::default()).await?,
                PinMode::Direct => {
                    if !self.has(cid).await? {
                        return Err(StoreError::NotFound { cid: *cid });
                    }
                }
            }
            self.pin_set().pins.insert(*cid, mode);
            Ok(())
        })
    }

    fn unpin<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move { self.pin_set().remove(cid) })
    }

    fn pins(&self) -> BoxFuture<'_, StoreResult<Vec<(Cid, PinMode)>>> {
        Box::pin(async move { Ok(self.pin_set().sorted()) })
    }

    fn list(&self) -> BoxFuture<'_, StoreResult<Vec<(Cid, u64)>>> {
        Box::pin(async move {
            let mut all: Vec<_> = self
                .blocks()
                .iter()
                .map(|(c, d)| (*c, d.len() as u64))
                .collect();
            all.sort();
            Ok(all)
        })
    }
}
