//! Proposals through the built binary on `scal3ml dev`: a contributor who does not own a sold dataset buys it,
//! cleans it and proposes the cleaned file for 10% of the shares; the owner and a collaborator vote; it passes,
//! the contributor executes it, its shares appear, the next sale pays it, and the diff shows the rows it
//! removed. Around it, what users get wrong: proposing without access, voting twice, executing too early,
//! rejecting someone else's asset, voting on a rejected proposal.

use crate::common::{DevNode, dev_key, fails, json, run};
use alloy::primitives::U256;
use serde_json::Value;

const OWNER: usize = 0;
const COLLABORATOR: usize = 1;
const CONTRIBUTOR: usize = 2;
const OUTSIDER: usize = 3;
const BUYER: usize = 5;

/// Runs a CLI command as dev account `account` and returns its JSON.
fn as_account(node: &str, args: &[&str], account: usize) -> Value {
    let n = account.to_string();
    let mut all = args.to_vec();
    all.extend(["--dev-account", n.as_str()]);
    json(node, &all)
}

/// Runs a CLI command as dev account `account` that must fail; returns its stderr.
fn refused(node: &str, args: &[&str], account: usize) -> String {
    let n = account.to_string();
    let mut all = args.to_vec();
    all.extend(["--dev-account", n.as_str()]);
    fails(node, &all)
}

/// An amount as JSON carries it: a decimal or 0x string, or a number.
fn amount(v: &Value) -> U256 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}")),
        Value::Number(n) => U256::from(n.as_u64().unwrap()),
        other => panic!("{other} is no amount"),
    }
}

/// The shares `account` holds of the asset, as `scal3ml show` lists them.
fn shares_of(node: &str, asset: &str, account: usize) -> U256 {
    let shown = json(node, &["show", asset]);
    let address = dev_key(account).address();
    shown["shareholders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h["holder"]
                .as_str()
                .unwrap()
                .parse::<alloy::primitives::Address>()
                .unwrap()
                == address
        })
        .map_or(U256::ZERO, |h| amount(&h["shares"]))
}

/// What account `account` may claim from the asset in ether.
fn claimable(node: &str, asset: u64, account: usize) -> U256 {
    let lines = as_account(node, &["earnings"], account);
    lines
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["asset"] == asset && l["symbol"] == "ETH")
        .map(|l| amount(&l["claimable"]))
        .sum()
}

fn readings(rows: &[(u32, &str, f64)]) -> String {
    let mut s = String::from("id,station,reading\n");
    for (id, station, reading) in rows {
        s.push_str(&format!("{id},{station},{reading}\n"));
    }
    s
}

#[test]
fn a_contributor_is_paid_for_a_cleaned_dataset_the_shareholders_accept() {
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.as_str();

    // The owner sells a dataset with two duplicated rows, 30% of its shares with a collaborator.
    let original = readings(&[
        (1, "oslo", 3.5),
        (2, "lima", 18.25),
        (3, "lima", 18.25),
        (4, "pune", 31.0),
        (5, "pune", 31.0),
        (6, "nuuk", -4.5),
    ]);
    let csv = work.path().join("readings.csv");
    std::fs::write(&csv, &original).unwrap();
    let collaborator = format!("{}=30", dev_key(COLLABORATOR).address());
    let published = as_account(
        url,
        &[
            "publish",
            csv.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Station readings",
            "--license",
            "CC-BY-4.0",
            "--description",
            "Temperatures from four weather stations",
            "--price",
            "0.01",
            "--collaborator",
            &collaborator,
        ],
        OWNER,
    );
    assert_eq!(published["encrypted"], true);
    let asset = published["asset"].as_u64().unwrap();
    let a = asset.to_string();

    // A contributor cleans the data.
    let cleaned = readings(&[
        (1, "oslo", 3.5),
        (2, "lima", 18.25),
        (4, "pune", 31.0),
        (6, "nuuk", -4.5),
    ]);
    let cleaned_path = work.path().join("cleaned.csv");
    std::fs::write(&cleaned_path, &cleaned).unwrap();
    let propose_args = [
        "propose",
        a.as_str(),
        "--file",
        cleaned_path.to_str().unwrap(),
        "--shares",
        "10%",
        "--message",
        "Drop rows 3 and 5: they duplicate rows 2 and 4",
    ];
    // It buys a license, downloads the data, and proposes the cleaned file for 10% of the shares after it passes.
    as_account(url, &["buy", &a], CONTRIBUTOR);
    let download = work.path().join("downloaded.csv");
    as_account(
        url,
        &["get", &a, "-o", download.to_str().unwrap()],
        CONTRIBUTOR,
    );
    assert_eq!(std::fs::read_to_string(&download).unwrap(), original);
    let proposed = as_account(url, &propose_args, CONTRIBUTOR);
    assert_eq!(
        proposed["requested_shares"], 1111,
        "10% after the mint of 10000 shares"
    );
    assert_eq!(
        proposed["encrypted"], true,
        "the content is encrypted like the asset's (under a key of its own)"
    );
    assert_eq!(proposed["bps_after"], 999);
    let id = proposed["proposal"].as_u64().unwrap();
    let p = id.to_string();

    let listed = json(url, &["proposals", &a]);
    let line = &listed.as_array().unwrap()[0];
    assert_eq!(line["id"], id);
    assert_eq!(line["status"], "open");
    assert_eq!(amount(&line["requested_shares"]), U256::from(1111));

    // A shareholder reviews it: the message, what passing changes in the shares, and the two removed rows.
    let review = as_account(url, &["proposal", &p, "--key", "id"], COLLABORATOR);
    assert_eq!(review["status"], "open");
    assert_eq!(
        review["description"],
        "Drop rows 3 and 5: they duplicate rows 2 and 4"
    );
    assert_eq!(amount(&review["needed"]), U256::from(5001));
    assert_eq!(amount(&review["missing_yes"]), U256::from(5001));
    let change = review["share_change"].as_array().unwrap();
    let of = |account: usize| {
        let address = dev_key(account).address().to_string().to_lowercase();
        change
            .iter()
            .find(|c| c["holder"].as_str().unwrap().to_lowercase() == address)
            .unwrap_or_else(|| panic!("no share change for account {account}: {change:?}"))
    };
    assert_eq!(
        (of(OWNER)["bps_now"].clone(), of(OWNER)["bps_after"].clone()),
        (7000.into(), 6300.into())
    );
    assert_eq!(of(COLLABORATOR)["bps_after"], 2700);
    assert_eq!(
        (
            of(CONTRIBUTOR)["bps_now"].clone(),
            of(CONTRIBUTOR)["bps_after"].clone(),
            of(CONTRIBUTOR)["proposer"].clone()
        ),
        (0.into(), 999.into(), true.into())
    );
    let rows = &review["diff"]["files"][0]["content"];
    assert_eq!(
        (rows["rows_old"].clone(), rows["rows_new"].clone()),
        (6.into(), 4.into())
    );
    let removed: Vec<&Value> = rows["removed"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["values"]["id"])
        .collect();
    assert_eq!(removed, [&Value::from(3), &Value::from(5)]);
    let text =
        String::from_utf8(run(url, &["proposal", &p, "--key", "id", "--dev-account", "1"]).stdout)
            .unwrap();
    assert!(text.contains("needs 5001 more yes shares"), "{text}");
    assert!(text.contains("(proposer)"), "{text}");
    assert!(text.contains("removed rows (2)"), "{text}");

    // Reviewers with access download the proposed content decrypted; an outsider is refused.
    let fetched = work.path().join("review.csv");
    as_account(
        url,
        &["proposal", &p, "-o", fetched.to_str().unwrap()],
        COLLABORATOR,
    );
    assert_eq!(std::fs::read_to_string(&fetched).unwrap(), cleaned);
    let outsider = work.path().join("outsider.csv");
    let denied = refused(
        url,
        &["proposal", &p, "-o", outsider.to_str().unwrap()],
        OUTSIDER,
    );
    assert!(!outsider.exists(), "nothing is written for an outsider");
    assert!(denied.contains("access"), "{denied}");

    // Too early: nobody has voted yes.
    let early = refused(url, &["execute", &p], CONTRIBUTOR);
    assert!(early.contains("5001"), "{early}");

    // The collaborator votes no, once; the contributor holds no shares to vote with; the owner votes yes.
    let no = as_account(url, &["vote", &p, "no"], COLLABORATOR);
    assert_eq!(no["no_votes"], 3000);
    let twice = refused(url, &["vote", &p, "yes"], COLLABORATOR);
    assert!(twice.contains("already voted"), "{twice}");
    let powerless = refused(url, &["vote", &p, "yes"], CONTRIBUTOR);
    assert!(powerless.contains("shares"), "{powerless}");
    let yes = as_account(url, &["vote", &p, "yes"], OWNER);
    assert_eq!(
        (yes["yes_votes"].clone(), yes["no_votes"].clone()),
        (7000.into(), 3000.into())
    );
    assert_eq!(
        json(url, &["proposals", &a])[0]["status"],
        "passed-awaiting-execute"
    );

    // Only the owner may reject; the contributor executes it.
    let not_owner = refused(url, &["reject", &p], CONTRIBUTOR);
    assert!(not_owner.contains("owner"), "{not_owner}");
    let executed = as_account(url, &["execute", &p], CONTRIBUTOR);
    assert_eq!(executed["version"], 1);
    assert_eq!(executed["minted_shares"], 1111);
    assert_eq!(shares_of(url, &a, CONTRIBUTOR), U256::from(1111));
    assert_eq!(shares_of(url, &a, OWNER), U256::from(7000));
    let again = refused(url, &["execute", &p], CONTRIBUTOR);
    assert!(
        again.contains("not open") || again.contains("executed"),
        "{again}"
    );

    // The next sale pays the contributor its share; the buyer downloads the cleaned version.
    let before = claimable(url, asset, CONTRIBUTOR);
    assert_eq!(
        before,
        U256::ZERO,
        "the contributor bought; it earned nothing yet"
    );
    as_account(url, &["buy", &a], BUYER);
    let price = U256::from(10u64).pow(U256::from(16u64));
    let per_share = price / U256::from(11_111u64);
    assert_eq!(
        claimable(url, asset, CONTRIBUTOR),
        per_share * U256::from(1111u64)
    );
    let bought = work.path().join("bought.csv");
    as_account(url, &["get", &a, "-o", bought.to_str().unwrap()], BUYER);
    assert_eq!(std::fs::read_to_string(&bought).unwrap(), cleaned);

    // The diff between the versions shows the rows it removed.
    let diff = json(url, &["diff", &a, "--key", "id", "--dev-account", "0"]);
    assert_eq!(
        (diff["from"].clone(), diff["to"].clone()),
        (0.into(), 1.into())
    );
    assert_eq!(diff["diff"]["files"][0]["content"]["removed"]["count"], 2);

    // A second proposal, rejected by the owner, takes no more votes.
    let second = as_account(
        url,
        &[
            "propose",
            &a,
            "--file",
            csv.to_str().unwrap(),
            "--shares",
            "500",
            "--message",
            "Put the duplicates back",
        ],
        CONTRIBUTOR,
    );
    let second = second["proposal"].as_u64().unwrap().to_string();
    as_account(url, &["reject", &second], OWNER);
    let shown = as_account(url, &["proposal", &second], OWNER);
    assert_eq!(shown["status"], "rejected");
    let late = refused(url, &["vote", &second, "yes"], COLLABORATOR);
    assert!(
        late.contains("not open") || late.contains("rejected"),
        "{late}"
    );
}

// A proposal of an encrypted asset whose proposer never deposited its key (made straight on the contract, as
// any client can) would, once executed, add a version nobody can read: `scal3ml execute` and the pages'
// `/api/tx/execute` refuse it first, saying why.
#[tokio::test(flavor = "multi_thread")]
async fn a_proposal_whose_key_the_gateway_lacks_is_not_executed() {
    use alloy::{
        network::EthereumWallet,
        primitives::{Bytes, aliases::U96},
        providers::ProviderBuilder,
    };
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.clone();
    let data = work.path().join("rows.csv");
    std::fs::write(&data, "id,x\n1,2\n").unwrap();
    let published = as_account(
        &url,
        &[
            "publish",
            data.to_str().unwrap(),
            "--kind",
            "dataset",
            "--name",
            "Sold rows",
            "--license",
            "CC-BY-4.0",
            "--price",
            "0.01",
        ],
        OWNER,
    );
    assert_eq!(published["encrypted"], true);
    let asset = published["asset"].as_u64().unwrap();
    let some_cid = Bytes::from(
        published["metadata_cid"]
            .as_str()
            .unwrap()
            .parse::<scal3ml_store::Cid>()
            .unwrap()
            .to_bytes(),
    );
    let http = reqwest::Client::new();
    let info: Value = crate::common::get_json(&http, &format!("{url}/api/network")).await;
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(CONTRIBUTOR)))
        .connect_http(info["rpc_url"].as_str().unwrap().parse().unwrap());
    let market = scal3ml_contracts::Marketplace::new(
        info["marketplace"].as_str().unwrap().parse().unwrap(),
        &wallet,
    );
    let call = market.propose(
        U256::from(asset),
        some_cid.clone(),
        some_cid.clone(),
        U96::from(10),
        some_cid,
    );
    let id = call.call().await.unwrap().to::<u64>();
    assert!(
        call.send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
            .status()
    );
    let p = id.to_string();
    for _ in 0..200 {
        if !json(&url, &["proposals", &asset.to_string()])
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let said = refused(&url, &["execute", &p], OWNER);
    assert!(
        said.contains("no key") && said.contains("nobody can read"),
        "{said}"
    );
    const CSRF: &str = "0123456789abcdef0123456789abcdef";
    let r = http
        .post(format!("{url}/api/tx/execute"))
        .header("cookie", format!("scal3ml_csrf={CSRF}"))
        .header("x-csrf-token", CSRF)
        .json(&serde_json::json!({"account": dev_key(OWNER).address(), "proposal": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_proposal_key", "{body}");
}
