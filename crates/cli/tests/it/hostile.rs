//! The hostile-content corpus (testdata/hostile/) against the binary: `scal3ml store get` and `cat` on untrusted
//! content; the node's diff routes, proposals and changes pages on a hostile proposal (uploaded as any stranger
//! can) and on a hostile version; and `scal3ml get` of that version.

use crate::common::{DevNode, bin, dev_key, fails, json, sign_in};
use alloy::{
    network::EthereumWallet,
    primitives::{Bytes, U256, aliases::U96},
    providers::ProviderBuilder,
};
use scal3ml_contracts::Marketplace;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const VICTIM: &str = "the victim's own bytes\n";

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/hostile")
}

fn store(repo: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(["store", "--repo", repo.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn regression_store_get_and_cat_refuse_the_hostile_corpus() {
    // `store get` created the DAG's symlinks and wrote files through them
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    let truncated = store(
        &repo,
        &[
            "import-car",
            corpus().join("truncated.car").to_str().unwrap(),
        ],
    );
    assert!(!truncated.status.success());
    for case in scal3ml_store::hostile::corpus() {
        let car = corpus().join(format!("{}.car", case.name));
        let imported = store(&repo, &["import-car", car.to_str().unwrap()]);
        assert!(
            imported.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&imported.stderr)
        );
        let out = work.path().join(case.name);
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("victim"), VICTIM).unwrap();
        let root = case.root.to_string();
        for extra in [&[][..], &["--symlinks"][..]] {
            let dest = out.join("dest");
            let mut args = vec!["get", &root, "-o", dest.to_str().unwrap()];
            args.extend(extra);
            let got = store(&repo, &args);
            let stderr = String::from_utf8_lossy(&got.stderr);
            assert!(!got.status.success(), "{} {extra:?} is refused", case.name);
            assert!(
                stderr.contains("nothing was written"),
                "{}: {stderr}",
                case.name
            );
            assert!(
                !dest.exists() && dest.symlink_metadata().is_err(),
                "{}: nothing left behind",
                case.name
            );
            assert_eq!(
                std::fs::read_to_string(out.join("victim")).unwrap(),
                VICTIM,
                "{}",
                case.name
            );
        }
    }
    // a symlink planted at the destination of a single file is not followed
    let mut file = None;
    for line in String::from_utf8(
        store(
            &repo,
            &["ls", &scal3ml_store::hostile::corpus()[1].root.to_string()],
        )
        .stdout,
    )
    .unwrap()
    .lines()
    {
        if line.contains("ok.txt") {
            file = line.split_whitespace().next().map(str::to_string);
        }
    }
    let file = file.expect("ls lists ok.txt");
    let planted = work.path().join("planted");
    std::os::unix::fs::symlink(work.path().join("victim-2"), &planted).unwrap();
    std::fs::write(work.path().join("victim-2"), VICTIM).unwrap();
    let got = store(&repo, &["get", &file, "-o", planted.to_str().unwrap()]);
    assert!(!got.status.success());
    assert_eq!(
        std::fs::read_to_string(work.path().join("victim-2")).unwrap(),
        VICTIM
    );
}

fn cid_bytes(cid: &scal3ml_store::Cid) -> Bytes {
    Bytes::from(cid.to_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_a_hostile_proposal_neither_overwrites_nor_reveals_node_files() {
    // the diff exported a proposal into a temp folder: a symlink plus a file of the same name overwrote any file
    // the node could write, and content that was a symlink sent back any file it could read
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.clone();
    let secret = work.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-NODE-FILE\n").unwrap();
    let target = secret.to_str().unwrap().to_string();
    let data = work.path().join("data.csv");
    std::fs::write(&data, "id,x\n1,2\n").unwrap();
    let published = json(
        &url,
        &[
            "publish",
            data.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Rows",
            "--license",
            "CC0-1.0",
            "--description",
            "rows",
            "--dev-account",
            "0",
        ],
    );
    let asset = published["asset"].as_u64().unwrap();
    let card: scal3ml_store::Cid = published["metadata_cid"].as_str().unwrap().parse().unwrap();

    let http = reqwest::Client::new();
    let info: Value = http
        .get(format!("{url}/api/network"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contributor = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(2)))
        .connect_http(info["rpc_url"].as_str().unwrap().parse().unwrap());
    let marketplace = Marketplace::new(
        info["marketplace"].as_str().unwrap().parse().unwrap(),
        &contributor,
    );
    // the owner adds each hostile root as a version too: what the changes page, the asset diff and `get` meet
    let owner = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(0)))
        .connect_http(info["rpc_url"].as_str().unwrap().parse().unwrap());
    let owned = Marketplace::new(
        info["marketplace"].as_str().unwrap().parse().unwrap(),
        &owner,
    );
    let untouched = |case: &str| {
        assert_eq!(
            std::fs::read_to_string(&secret).unwrap(),
            "TOP-SECRET-NODE-FILE\n",
            "{case}"
        );
    };
    // any account will do: a stranger signs in with a fresh key
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let token = sign_in(&http, &url, &stranger).await;
    for (i, case) in scal3ml_store::hostile::aimed_at(&target)
        .into_iter()
        .enumerate()
    {
        let upload = http
            .post(format!("{url}/api/car"))
            .bearer_auth(&token)
            .header("content-type", "application/vnd.ipld.car")
            .body(case.car())
            .send()
            .await
            .unwrap();
        assert_eq!(
            upload.status(),
            200,
            "{}: {}",
            case.name,
            upload.text().await.unwrap()
        );
        let propose = marketplace.propose(
            U256::from(asset),
            cid_bytes(&case.root),
            cid_bytes(&card),
            U96::from(100),
            cid_bytes(&card),
        );
        let id = propose.call().await.unwrap().to::<u64>();
        assert!(
            propose
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap()
                .status()
        );
        let mut answer = None;
        for _ in 0..200 {
            let r = http
                .get(format!("{url}/api/proposals/{id}/diff"))
                .send()
                .await
                .unwrap();
            if r.status() != 404 {
                answer = Some((r.status().as_u16(), r.text().await.unwrap()));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let (status, body) = answer.expect("the proposal reaches the catalog");
        assert!(
            (400..500).contains(&status),
            "{}: {status} {body}",
            case.name
        );
        assert!(
            !body.contains("TOP-SECRET"),
            "{}: the node sent its file back: {body}",
            case.name
        );
        assert!(
            !body.contains("/tmp"),
            "{}: an internal path in the answer: {body}",
            case.name
        );
        assert_eq!(
            std::fs::read_to_string(&secret).unwrap(),
            "TOP-SECRET-NODE-FILE\n",
            "{}",
            case.name
        );
        let page = http
            .get(format!("{url}/assets/{asset}/proposals"))
            .send()
            .await
            .unwrap();
        let page = page.text().await.unwrap();
        assert!(
            !page.contains("TOP-SECRET"),
            "{}: the proposals page shows the node's file",
            case.name
        );
        untouched(case.name);

        // The same root as version n of the asset (its owner adds it).
        let n = i as u64 + 1;
        let added = owned
            .addVersion(U256::from(asset), cid_bytes(&case.root), cid_bytes(&card))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(added.status(), "{}: addVersion", case.name);
        let mut answer = None;
        for _ in 0..200 {
            let r = http
                .get(format!("{url}/api/assets/{asset}/diff?from=0&to={n}"))
                .send()
                .await
                .unwrap();
            let (status, body) = (r.status().as_u16(), r.text().await.unwrap());
            if !body.contains("no_such_version") && status != 404 {
                answer = Some((status, body));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let (status, body) = answer.expect("the version reaches the catalog");
        assert!(
            (400..500).contains(&status),
            "{}: the asset diff answered {status} {body}",
            case.name
        );
        assert!(
            !body.contains("TOP-SECRET") && !body.contains("/tmp"),
            "{}: {body}",
            case.name
        );
        let page = http
            .get(format!("{url}/assets/{asset}/changes?from=0&to={n}"))
            .send()
            .await
            .unwrap();
        let page = page.text().await.unwrap();
        assert!(
            !page.contains("TOP-SECRET") && !page.contains("/tmp/"),
            "{}: the changes page shows the node's file or a path",
            case.name
        );
        untouched(case.name);

        // `scal3ml get` of that version refuses it, writing nothing outside its destination.
        let out = work.path().join(format!("got-{n}"));
        let refused = fails(
            &url,
            &[
                "get",
                &asset.to_string(),
                "--asset-version",
                &n.to_string(),
                "-o",
                out.to_str().unwrap(),
                "--no-progress",
            ],
        );
        assert!(!refused.contains("panicked"), "{}: {refused}", case.name);
        untouched(case.name);
    }
}
