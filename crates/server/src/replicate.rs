//! Copies uploads from the node's block store to an IPFS node over the Kubo RPC API (`--ipfs-api`), so content
//! published here is also held, pinned, by a node of the IPFS network.

use scal3ml_store::{BlockStore, Cid, FsStore, StoreResult, kubo::KuboClient, store::walk_dag};
use std::collections::HashSet;

/// Puts every block of the DAG under `root` that the IPFS node lacks, then pins `root` there recursively.
/// Returns how many blocks were copied.
pub(crate) async fn to_kubo(store: &FsStore, kubo: &KuboClient, root: &Cid) -> StoreResult<u64> {
    let mut dag = HashSet::new();
    walk_dag(store, root, &mut dag).await?;
    let mut copied = 0;
    for cid in &dag {
        if kubo.block_stat(cid).await?.is_none() {
            kubo.block_put(cid, store.get(cid).await?.to_vec()).await?;
            copied += 1;
        }
    }
    kubo.pin_add(root, true).await?;
    Ok(copied)
}
