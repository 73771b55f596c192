//! What the catalog answers: search, assets, versions, lineage, proposals, attestations, leaderboards,
//! accounts, totals. Every type is serde (the REST API returns them as JSON) and has an OpenAPI
//! schema (utoipa). Addresses are `0x` hex (EIP-55 checksummed on output), amounts are `0x` hex quantities as
//! in JSON-RPC, CIDs are text (CIDv0 `Qm...` or base32 CIDv1 `b...`; bytes that are no CID as `0x` hex).

use alloy_primitives::{Address, U256};
use scal3ml_primitives::AssetKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most items per page.
pub const MAX_PER_PAGE: u32 = 100;
/// Deepest result a search pages to (page * per_page); deeper pages are empty. Refine the query instead.
pub const MAX_RESULT_WINDOW: u32 = 10_000;
/// Totals are counted up to this many matches; above it `total` is this number and `total_is_lower_bound` is
/// true ("1000+ results").
pub const TOTAL_COUNT_CAP: u64 = 1_000;

/// Relevance is ranked when the words match at most this many assets; beyond, results come newest first.
pub const RANK_WINDOW: u64 = 1_000;

/// Result order of a search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best text match first (newest first when there is no text).
    #[default]
    Relevance,
    /// Most recently published first.
    Newest,
    /// Cheapest first, in the query's token (ether when none is given).
    PriceAsc,
    /// Dearest first, in the query's token (ether when none is given).
    PriceDesc,
    /// Most licenses sold first.
    Sales,
}

impl std::str::FromStr for Sort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "relevance" => Self::Relevance,
            "newest" => Self::Newest,
            "price_asc" => Self::PriceAsc,
            "price_desc" => Self::PriceDesc,
            "sales" => Self::Sales,
            _ => {
                return Err(format!(
                    "unknown order {s:?}: use relevance, newest, price_asc, price_desc or sales"
                ));
            }
        })
    }
}

/// A search: words and filters, all optional. Deserializes from a query string (every field has a default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SearchQuery {
    /// Words matched against name, description, tags, task, framework and license (all must occur; a word
    /// ending in `*` matches as a prefix).
    pub text: Option<String>,
    /// Only datasets or only models.
    #[schema(value_type = Option<String>, example = "model")]
    pub kind: Option<AssetKind>,
    /// Only this license (SPDX id or license URL as written in the card; case-insensitive).
    pub license: Option<String>,
    /// Only assets whose card has this tag (case-insensitive).
    pub tag: Option<String>,
    /// Only assets listed at this price or more, in `token`'s smallest unit.
    #[schema(value_type = Option<String>)]
    pub min_price: Option<U256>,
    /// Only assets listed at this price or less, in `token`'s smallest unit.
    #[schema(value_type = Option<String>)]
    pub max_price: Option<U256>,
    /// Payment token of the price filters and price sorts, and only assets with an active listing in it when
    /// given. Ether is the zero address (and the default for price filters and sorts).
    #[schema(value_type = Option<String>, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Option<Address>,
    /// Only assets with an active listing at price 0.
    pub free_only: bool,
    /// Result order.
    pub sort: Sort,
    /// Page number, from 1.
    pub page: u32,
    /// Items per page (default 20, at most [`MAX_PER_PAGE`]).
    pub per_page: u32,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    /// Number of matches, counted up to [`TOTAL_COUNT_CAP`].
    pub total: u64,
    /// True when there are more matches than `total` (the count stopped at the cap).
    pub total_is_lower_bound: bool,
    /// True when the items are ordered by text relevance; false for other sorts and when the words match more
    /// than [`RANK_WINDOW`] assets (then they come newest first: add words to get a ranking).
    pub ranked: bool,
    /// The page number (from 1).
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
    /// The assets of this page.
    pub items: Vec<AssetSummary>,
}

/// An active listing: price and license duration in one payment token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListingInfo {
    /// Payment token; the zero address is ether.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Address,
    /// Price in the token's smallest unit.
    #[schema(value_type = String)]
    pub price: U256,
    /// License duration in seconds; 0 is perpetual.
    pub duration: u64,
}

/// What a list of assets shows about each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssetSummary {
    /// Asset id (the ERC-721 token id).
    pub id: u64,
    /// Dataset or model.
    #[schema(value_type = String, example = "dataset")]
    pub kind: AssetKind,
    /// The card's name (empty until the card has been fetched).
    pub name: String,
    /// A short extract of the description; with a text search, the matching words are wrapped in `[` `]`.
    pub snippet: String,
    /// The card's license (SPDX id or URL).
    pub license: String,
    /// The card's tags.
    pub tags: Vec<String>,
    /// Current owner (the ERC-721 holder).
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub owner: Address,
    /// Active listings.
    pub listings: Vec<ListingInfo>,
    /// Licenses sold (purchases and renewals).
    pub sales: u64,
    /// Block the asset was published in.
    pub created_block: u64,
    /// Unix time of that block.
    pub created_time: u64,
    /// Encrypted content (access through a gateway).
    pub encrypted: bool,
    /// Deprecated by its owner: no longer for sale.
    pub deprecated: bool,
    /// Whether the card has been fetched and read (false: the asset is indexed without text for now).
    pub card_indexed: bool,
}

/// One version of an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    /// Index, from 0.
    pub index: u64,
    /// Content CID.
    pub content_cid: String,
    /// Metadata (card) CID.
    pub metadata_cid: String,
    /// Author of the version.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub author: Address,
    /// The commitment the contract stores (`0x` hex).
    pub commitment: String,
    /// Block the version was added in.
    pub block: u64,
    /// Unix time of that block.
    pub time: u64,
}

/// A lineage edge seen from one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Edge {
    /// The other asset.
    pub asset: u64,
    /// Royalty of the child's sales to the parent, in basis points.
    pub royalty_bps: u16,
}

/// An asset reached through lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineageNode {
    /// The asset.
    pub asset: u64,
    /// Its card's name (empty until fetched).
    pub name: String,
    /// Steps from the asset asked about (1 = a direct parent or child). With several paths, the shortest.
    pub depth: u32,
}

/// Ancestors and descendants of an asset, transitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lineage {
    /// Assets it derives from, nearest first.
    pub ancestors: Vec<LineageNode>,
    /// Assets derived from it, nearest first.
    pub descendants: Vec<LineageNode>,
}

/// A holder of revenue shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shareholder {
    /// The holder.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub holder: Address,
    /// Shares held.
    #[schema(value_type = String)]
    pub shares: U256,
}

/// Money an asset took in and paid out in one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Revenue {
    /// Payment token; the zero address is ether.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Address,
    /// Credited to the asset's shareholders (after fees and upstream royalties), including royalties received.
    #[schema(value_type = String)]
    pub credited: U256,
    /// Royalties received from descendants' sales (part of the credits above, as the contract credits them).
    #[schema(value_type = String)]
    pub royalties_received: U256,
    /// Royalties this asset's sales paid to its parents.
    #[schema(value_type = String)]
    pub royalties_paid: U256,
    /// Withdrawn by shareholders.
    #[schema(value_type = String)]
    pub withdrawn: U256,
}

/// Licenses of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LicenseCount {
    /// Accounts that bought a license (expired or not).
    pub accounts: u64,
    /// Purchases and renewals.
    pub purchases: u64,
}

/// An attestation of a model's score on a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttestationInfo {
    /// Attestation id.
    pub id: u64,
    /// The model asset and version.
    pub model_asset: u64,
    /// The model version.
    pub model_version: u64,
    /// The dataset asset.
    pub dataset_asset: u64,
    /// The dataset version.
    pub dataset_version: u64,
    /// Who attested.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub attester: Address,
    /// Metric name.
    pub metric: String,
    /// Value as a decimal integer; divide by 10^decimals.
    pub value: String,
    /// Decimals of `value`.
    pub decimals: u8,
    /// CID of the evaluation report.
    pub report_cid: String,
    /// Reviews that agree.
    pub endorsements: u64,
    /// Reviews that disagree.
    pub disputes: u64,
    /// The reviews.
    pub reviews: Vec<ReviewInfo>,
}

/// An endorsement or a dispute of an attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewInfo {
    /// The reviewer.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub reviewer: Address,
    /// True for an endorsement, false for a dispute.
    pub agrees: bool,
    /// CID of the reviewer's report.
    pub report_cid: String,
}

/// Everything the catalog knows about an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssetDetail {
    /// What lists show.
    pub summary: AssetSummary,
    /// The account that published it (first owner).
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub publisher: Address,
    /// Access gateway URL (for encrypted assets).
    pub gateway_url: String,
    /// The card JSON of the latest version's metadata CID, as stored; null until fetched or if unusable.
    #[schema(value_type = Option<Object>)]
    pub card: Option<serde_json::Value>,
    /// Versions, oldest first.
    pub versions: Vec<VersionInfo>,
    /// Direct parents.
    pub parents: Vec<Edge>,
    /// Direct children.
    pub children: Vec<Edge>,
    /// Current shareholders, largest first.
    pub shareholders: Vec<Shareholder>,
    /// Revenue per payment token.
    pub revenue: Vec<Revenue>,
    /// Licenses sold.
    pub licenses: LicenseCount,
    /// Attestations where it is the model or the dataset.
    pub attestations: Vec<AttestationInfo>,
}

/// Shares an account holds in an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Holding {
    /// The asset.
    pub asset: u64,
    /// Shares held.
    #[schema(value_type = String)]
    pub shares: U256,
}

/// A license an account bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LicenseInfo {
    /// The asset.
    pub asset: u64,
    /// Payment token of these purchases.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Address,
    /// Total paid in that token.
    #[schema(value_type = String)]
    pub paid: U256,
    /// Purchases and renewals in that token.
    pub purchases: u64,
    /// Unix time the license ends; `null` for a perpetual license.
    pub expiry: Option<u64>,
}

/// An account's place in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// Assets it owns (ERC-721), newest first (at most 1000).
    pub assets_owned: Vec<AssetSummary>,
    /// Revenue shares it holds.
    pub holdings: Vec<Holding>,
    /// Licenses it bought.
    pub licenses: Vec<LicenseInfo>,
}

/// A proposed new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalInfo {
    /// Proposal id.
    pub id: u64,
    /// The asset.
    pub asset: u64,
    /// Who proposed it.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub proposer: Address,
    /// Proposed content CID.
    pub content_cid: String,
    /// Proposed metadata CID.
    pub metadata_cid: String,
    /// Shares the proposer asks for.
    #[schema(value_type = String)]
    pub requested_shares: U256,
    /// CID of the description.
    pub description_cid: String,
    /// Votes count the shares held at the end of this block.
    pub snapshot_block: u64,
    /// Unix time voting ends.
    pub deadline: u64,
    /// `open`, `executed` or `rejected`, as the chain's events leave it (an open proposal past its deadline
    /// has expired: [`ProposalStatus`] says so).
    pub state: ProposalState,
    /// Version index created by execution.
    pub version_index: Option<u64>,
    /// Shares that voted yes.
    #[schema(value_type = String)]
    pub yes_votes: U256,
    /// Shares that voted no.
    #[schema(value_type = String)]
    pub no_votes: U256,
    /// Number of votes cast.
    pub votes: u64,
}

/// A vote on a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalVote {
    /// Who voted.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub voter: Address,
    /// Yes (`true`) or no.
    pub support: bool,
    /// The shares it held at the proposal's snapshot block.
    #[schema(value_type = String)]
    pub weight: U256,
}

/// Sales in one payment token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenSales {
    /// Payment token; the zero address is ether.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Address,
    /// Purchases and renewals.
    pub sales: u64,
    /// Total paid.
    #[schema(value_type = String)]
    pub volume: U256,
}

/// Catalog totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    /// Assets published.
    pub assets: u64,
    /// Of which datasets.
    pub datasets: u64,
    /// Of which models.
    pub models: u64,
    /// License purchases and renewals.
    pub licenses: u64,
    /// Sales per payment token.
    pub sales: Vec<TokenSales>,
    /// Newest block indexed (`null` before the first).
    pub last_indexed_block: Option<u64>,
}

/// Whether a larger value of a metric is better, and whether that is known or assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better: accuracy, f1, f1_macro, macro_f1, precision, recall, r2, auc.
    HigherIsBetter,
    /// Smaller is better: rmse, mse, mae, log_loss.
    LowerIsBetter,
    /// A metric this catalog does not know: ranked as larger is better.
    AssumedHigherIsBetter,
}

impl Direction {
    /// The direction of `metric` (case-insensitive).
    pub fn of(metric: &str) -> Direction {
        match metric.to_ascii_lowercase().as_str() {
            "accuracy" | "f1" | "f1_macro" | "macro_f1" | "precision" | "recall" | "r2" | "auc"
            | "roc_auc" => Direction::HigherIsBetter,
            "rmse" | "mse" | "mae" | "log_loss" | "logloss" => Direction::LowerIsBetter,
            _ => Direction::AssumedHigherIsBetter,
        }
    }

    /// Whether larger values rank first (also for a metric only assumed so).
    pub fn higher_is_better(self) -> bool {
        self != Direction::LowerIsBetter
    }
}

/// One attestation on a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaderboardRow {
    /// 1 for the best value; rows with equal values share a rank.
    pub rank: u32,
    /// The attestation id.
    pub attestation: u64,
    /// The model asset evaluated.
    pub model_asset: u64,
    /// The model's name from its card ("" until the card is indexed).
    pub model_name: String,
    /// The model version.
    pub model_version: u64,
    /// The dataset version it was evaluated on.
    pub dataset_version: u64,
    /// The value as a decimal string (`0.966667`).
    pub value: String,
    /// The value as attested: a decimal integer to divide by 10^decimals.
    pub raw_value: String,
    /// Decimals of `raw_value`.
    pub decimals: u8,
    /// Who attested.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub attester: Address,
    /// Reviews that re-ran the evaluation and agree.
    pub endorsements: u64,
    /// Reviews that re-ran it and got another value.
    pub disputes: u64,
    /// CID of the attester's report.
    pub report_cid: String,
}

/// A dataset's attestations of one metric, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Leaderboard {
    /// The dataset asset.
    pub dataset: u64,
    /// The metric, as attested.
    pub metric: String,
    /// How rows are ordered.
    pub direction: Direction,
    /// Best first; equal values in attestation order.
    pub rows: Vec<LeaderboardRow>,
}

/// Where a proposal stands by the chain's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Not executed nor rejected (it may have expired: see [`ProposalStatus`]).
    Open,
    /// Executed: it became a version.
    Executed,
    /// Rejected by the owner.
    Rejected,
}

impl ProposalState {
    /// `open`, `executed` or `rejected`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Executed => "executed",
            Self::Rejected => "rejected",
        }
    }
}

impl std::fmt::Display for ProposalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProposalState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "open" => Self::Open,
            "executed" => Self::Executed,
            "rejected" => Self::Rejected,
            _ => {
                return Err(format!(
                    "{s:?} is not a proposal state (open, executed, rejected)"
                ));
            }
        })
    }
}

/// What a voter needs to know of a proposal now: its state, with the tally and the deadline read live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Voting, not yet a majority.
    Open,
    /// A majority voted yes: anyone may execute it.
    Passed,
    /// The deadline passed before it was executed.
    Expired,
    /// Executed: it became a version.
    Executed,
    /// Rejected by the owner.
    Rejected,
}

impl ProposalStatus {
    /// `open`, `passed`, `expired`, `executed` or `rejected`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Passed => "passed",
            Self::Expired => "expired",
            Self::Executed => "executed",
            Self::Rejected => "rejected",
        }
    }

    /// Whether votes still count and it may still be executed (open or passed).
    pub const fn is_live(self) -> bool {
        matches!(self, Self::Open | Self::Passed)
    }
}

impl std::fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A proposal and what it would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalDetail {
    /// The proposal as the catalog has it.
    pub proposal: ProposalInfo,
    /// Where it stands now, with the tally and the deadline read live.
    pub status: ProposalStatus,
    /// All shares of the asset at the snapshot block: yes and no are fractions of it.
    #[schema(value_type = String)]
    pub total_at_snapshot: U256,
    /// Yes shares it needs to pass: more than half of `total_at_snapshot`.
    #[schema(value_type = String)]
    pub needed: U256,
    /// Shares at the snapshot that have not voted.
    #[schema(value_type = String)]
    pub not_voted: U256,
    /// The votes, largest first.
    pub votes: Vec<ProposalVote>,
    /// The description (Markdown) from the node's store; `null` if the node does not hold it.
    pub description: Option<String>,
    /// Shares outstanding now.
    #[schema(value_type = String)]
    pub total_now: U256,
    /// Shares outstanding if it is executed: `total_now` plus the requested shares.
    #[schema(value_type = String)]
    pub total_after: U256,
    /// What executing it would change, per holder (the proposer last if it holds none now); empty once it is
    /// executed, rejected or expired.
    pub share_change: Vec<ShareChange>,
}

/// One holder's shares now and after the proposal is executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShareChange {
    /// The holder.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub holder: Address,
    /// Whether this is the proposer (who receives the requested shares).
    pub proposer: bool,
    /// Shares now.
    #[schema(value_type = String)]
    pub shares_now: U256,
    /// Shares after.
    #[schema(value_type = String)]
    pub shares_after: U256,
    /// Share of the total now, in hundredths of a percent (basis points), rounded down.
    pub bps_now: u64,
    /// Share of the total after, in basis points, rounded down.
    pub bps_after: u64,
}
