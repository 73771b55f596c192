//! Hands uploads on beyond the node's block store: copies them to an IPFS node over the Kubo RPC API
//! (`--ipfs-api`), or asks a pinning service (IPFS Pinning Service API, `--pinning-service`) to pin them,
//! naming this node's trustless gateway as the origin to fetch from. Either way the content is also held by a
//! node of the IPFS network.

use scal3ml_store::{
    BlockStore, Cid, FsStore, StoreResult,
    kubo::KuboClient,
    pinning::{Pin, PinningClient},
    store::walk_dag,
};
use std::collections::HashSet;

/// Puts every block of the DAG under `root` on the IPFS node, then pins `root` there recursively. Returns how
/// many blocks were put.
///
/// Every block is put, without asking first which the node lacks: a put of a block the node holds is cheap
/// and changes nothing, while `block/stat` of a missing block waits out its whole timeout on some
/// implementations (js-ipfs ignores `offline`), which made one publish take ten seconds a block.
pub(crate) async fn to_kubo(store: &FsStore, kubo: &KuboClient, root: &Cid) -> StoreResult<u64> {
    let mut dag = HashSet::new();
    walk_dag(store, root, &mut dag).await?;
    for cid in &dag {
        kubo.block_put(cid, store.get(cid).await?.to_vec()).await?;
    }
    kubo.pin_add(root, true).await?;
    Ok(dag.len() as u64)
}

/// Asks the pinning service to pin `root`, fetching it from `origin` (this node's gateway as a multiaddr).
/// The service pins in the background; returns its request id.
pub(crate) async fn to_pinning_service(
    service: &PinningClient,
    root: &Cid,
    origin: &str,
) -> StoreResult<String> {
    let mut pin = Pin::new(root.to_string()).with_name("scal3ml upload");
    pin.origins = Some(vec![origin.to_string()]);
    Ok(service.add(&pin).await?.requestid)
}

/// The multiaddr of an `http(s)://host:port` URL (`/ip4/127.0.0.1/tcp/8080/http`), as pinning requests name
/// their origins; `None` for a URL without a host.
pub(crate) fn multiaddr_of(url: &str) -> Option<String> {
    let uri: axum::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?;
    let host = uri.host()?;
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let proto = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => "ip4",
        Ok(std::net::IpAddr::V6(_)) => "ip6",
        Err(_) if host.starts_with('[') => "ip6",
        Err(_) => "dns",
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some(format!("/{proto}/{host}/tcp/{port}/{scheme}"))
}

#[cfg(test)]
mod tests {
    use super::multiaddr_of;

    #[test]
    fn urls_become_multiaddrs() {
        assert_eq!(
            multiaddr_of("http://127.0.0.1:8080").as_deref(),
            Some("/ip4/127.0.0.1/tcp/8080/http")
        );
        assert_eq!(
            multiaddr_of("https://node.example").as_deref(),
            Some("/dns/node.example/tcp/443/https")
        );
        assert_eq!(
            multiaddr_of("http://[::1]:9/").as_deref(),
            Some("/ip6/::1/tcp/9/http")
        );
        assert_eq!(multiaddr_of("not a url"), None);
    }
}
