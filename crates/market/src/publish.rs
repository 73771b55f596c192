//! What a publisher fills in, read the same way by `scal3ml publish` (flags) and the web form (fields):
//! license durations, percentages, collaborators and parents, and the card built from the fields on top of a
//! card file or a Hugging Face README. Each refusal names its input ([`InputError::field`]), so the command line
//! can say `--duration` and a form can mark the field.
//!
//! The rest of the flow is shared too: [`check_card`] before anything is imported, [`package`] to import the
//! content (encrypted for a paid asset) with its card into a store, [`publish_request`] for the transaction,
//! and [`import_version`] for a proposed version.

use alloy::primitives::Address;
use scal3ml_primitives::LicenseTerms;
use scal3ml_primitives::{
    AssetId, AssetKind, LicenseDuration,
    card::{Card, CardError, CardFile, CardParent},
};
use scal3ml_store::{BlockStore, crypt::FileKey};
use std::path::Path;

use crate::{MarketError, MarketResult, PublishRequest, content};

/// Shares an asset is divided into: one share is 0.01 %.
pub const TOTAL_SHARES: u64 = 10_000;

/// One input that is wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InputError {
    /// The input's name: `duration`, `collaborator`, `parent`, `kind`, `name`, `license`, ...
    pub field: &'static str,
    /// What is wrong with it and what to write instead.
    pub message: String,
}

fn bad(field: &'static str, message: String) -> InputError {
    InputError { field, message }
}

/// `perpetual` (or `0`), or a positive number with a unit s, m, h or d (`30d`). Field `duration`.
pub fn parse_duration(text: &str) -> Result<LicenseDuration, InputError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("perpetual") || t == "0" {
        return Ok(LicenseDuration::Perpetual);
    }
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
        bad(
            "duration",
            format!("{text:?}: write perpetual, or a positive number with s, m, h or d (30d)"),
        )
    })?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        other => {
            return Err(bad(
                "duration",
                format!("{text:?}: unknown unit {other:?}; use s, m, h or d (30d), or perpetual"),
            ));
        }
    };
    let secs =
        secs.ok_or_else(|| bad("duration", format!("{text:?} is too long; use perpetual")))?;
    Ok(LicenseDuration::Seconds(secs))
}

/// "perpetual license", "30-day license", "90-second license".
pub fn describe_duration(d: LicenseDuration) -> String {
    match d {
        LicenseDuration::Perpetual => "perpetual license".into(),
        LicenseDuration::Seconds(s) if s % 86_400 == 0 => format!("{}-day license", s / 86_400),
        LicenseDuration::Seconds(s) => format!("{s}-second license"),
    }
}

/// A percentage with at most two decimals, as basis points (30 -> 3000, 12.5 -> 1250).
pub fn parse_percent(text: &str, field: &'static str) -> Result<u64, InputError> {
    let t = text.trim().trim_end_matches('%');
    crate::parse_amount(t, 2)
        .ok()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0 && v <= 10_000)
        .ok_or_else(|| {
            bad(
                field,
                format!("{text:?} is not a percentage between 0.01 and 100 (at most two decimals)"),
            )
        })
}

/// The shares a proposal asks for (field `shares`): a count (`1000`), or `P%` of all shares after the mint,
/// which is `total * p / (100 - p)` new shares, rounded down (10% of 10000 outstanding is 1111 of 11111).
pub fn parse_requested_shares(text: &str, total: u128) -> Result<u64, InputError> {
    let field = "shares";
    let text = text.trim();
    if text.ends_with('%') {
        let bps = parse_percent(text, field)?;
        if bps >= 10_000 {
            return Err(bad(
                field,
                format!(
                    "{text}: a proposal cannot ask for 100% or more of the shares after it passes"
                ),
            ));
        }
        let n = total * u128::from(bps) / u128::from(10_000 - bps);
        u64::try_from(n).map_err(|_| bad(field, format!("{text}: {n} shares is too many")))
    } else {
        text.parse::<u64>().map_err(|_| {
            bad(
                field,
                format!(
                    "{text:?}: give a number of shares (1000) or a percentage of the shares after it passes (10%)"
                ),
            )
        })
    }
}

/// `ADDRESS=PERCENT` items: the collaborators and their shares (field `collaborator`). Each is named once,
/// never the publisher, and together they leave the publisher something.
pub fn parse_collaborators(
    items: &[String],
    publisher: Address,
) -> Result<Vec<(Address, u64)>, InputError> {
    let field = "collaborator";
    let mut out: Vec<(Address, u64)> = Vec::new();
    for item in items {
        let (addr, pct) = item.split_once('=').ok_or_else(|| {
            bad(
                field,
                format!("{item:?}: write ADDRESS=PERCENT, e.g. 0xabc...=30"),
            )
        })?;
        let address: Address = addr.trim().parse().map_err(|_| {
            bad(
                field,
                format!("{item:?}: {addr:?} is not an address (0x and 40 hex digits)"),
            )
        })?;
        if address == publisher || out.iter().any(|(a, _)| *a == address) {
            return Err(bad(
                field,
                format!("{address} is named twice (you keep what the collaborators do not get)"),
            ));
        }
        out.push((address, parse_percent(pct, field)?));
    }
    let total: u64 = out.iter().map(|(_, s)| s).sum();
    if total >= TOTAL_SHARES {
        return Err(bad(
            field,
            format!(
                "the collaborators' shares add up to {}%, leaving nothing for you; keep them under 100%",
                total as f64 / 100.0
            ),
        ));
    }
    Ok(out)
}

/// `ID=PERCENT` items: the assets this one derives from and the royalty each gets (field `parent`).
pub fn parse_parents(items: &[String]) -> Result<Vec<(AssetId, u16)>, InputError> {
    let field = "parent";
    let mut out = Vec::new();
    for item in items {
        let (id, pct) = item
            .split_once('=')
            .ok_or_else(|| bad(field, format!("{item:?}: write ID=PERCENT, e.g. 3=10")))?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|_| bad(field, format!("{item:?}: {id:?} is not an asset id")))?;
        let bps = u16::try_from(parse_percent(pct, field)?).expect("at most 10000");
        out.push((AssetId(id), bps));
    }
    Ok(out)
}

/// The publisher first with what the collaborators leave, then the collaborators.
pub fn shareholders(publisher: Address, collaborators: &[(Address, u64)]) -> Vec<(Address, u64)> {
    let given: u64 = collaborators.iter().map(|(_, s)| s).sum();
    std::iter::once((publisher, TOTAL_SHARES.saturating_sub(given)))
        .chain(collaborators.iter().copied())
        .collect()
}

/// The card fields a publisher may give directly; each overrides the base card's (a card file or a README).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFields {
    /// Dataset or model.
    pub kind: Option<AssetKind>,
    /// The name shown in search results.
    pub name: Option<String>,
    /// Markdown.
    pub description: Option<String>,
    /// An SPDX id or expression, or a license URL.
    pub license: Option<String>,
    /// Added to the base card's tags.
    pub tags: Vec<String>,
    /// The ML task.
    pub task: Option<String>,
    /// The framework.
    pub framework: Option<String>,
}

impl CardFields {
    /// The card: `base` (or, without one, a new card from `kind`, `name` and `license`, which must then be
    /// given) with these fields on top, its parents and its creation time set. Not validated yet: see
    /// [`check_card`].
    pub fn card(&self, base: Option<Card>, parents: &[(AssetId, u16)]) -> Result<Card, InputError> {
        let mut card = match base {
            Some(card) => card,
            None => {
                let kind = self
                    .kind
                    .ok_or_else(|| bad("kind", "say what you publish: dataset or model".into()))?;
                let name = self
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| bad("name", "give the asset a name".into()))?;
                let license = self.license.clone().filter(|l| !l.trim().is_empty()).ok_or_else(|| {
                    bad(
                        "license",
                        "give a license: an SPDX id (MIT, Apache-2.0, CC-BY-4.0, ...) or a license URL".into(),
                    )
                })?;
                Card::new(name, kind, license)
            }
        };
        if let Some(kind) = self.kind {
            card.kind = kind;
        }
        if let Some(name) = &self.name {
            card.name = name.clone();
        }
        if let Some(license) = &self.license {
            card.license = license.clone();
        }
        if let Some(d) = &self.description {
            card.description = d.clone();
        }
        card.tags.extend(self.tags.iter().cloned());
        if self.task.is_some() {
            card.task = self.task.clone();
        }
        if self.framework.is_some() {
            card.framework = self.framework.clone();
        }
        card.parents = parents
            .iter()
            .map(|&(asset, bps)| CardParent {
                asset,
                royalty_bps: u32::from(bps),
            })
            .collect();
        card.created = Some(now_rfc3339());
        Ok(card)
    }
}

/// Validates everything the card will hold except its files (which come from the import), so a bad field is
/// refused before anything is imported.
pub fn check_card(card: &Card) -> Result<(), CardError> {
    let mut probe = card.clone();
    probe.files = vec![CardFile {
        path: "probe".into(),
        size: 0,
        sha256: "0".repeat(64),
        cid: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".into(),
    }];
    probe.validate()
}

/// The card's file list of prepared content.
pub fn card_files(prepared: &content::Prepared) -> Vec<CardFile> {
    prepared
        .files
        .iter()
        .map(|f| CardFile {
            path: f.path.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            cid: f.cid.to_string(),
        })
        .collect()
}

/// Stores the card's canonical bytes in `store` (as assets import files); returns their CID.
pub async fn store_card<S: BlockStore + ?Sized>(
    store: &S,
    card: &Card,
) -> MarketResult<scal3ml_store::Cid> {
    let bytes = card.to_json_bytes();
    Ok(scal3ml_store::add_reader(
        store,
        std::io::Cursor::new(bytes),
        content::import_options(),
    )
    .await?
    .cid)
}

/// A proposed version imported into a block store: what `scal3ml propose` uploads and `/api/propose` pins.
#[derive(Debug)]
pub struct ImportedVersion {
    /// The content, encrypted under `key` when there is one.
    pub content: content::Prepared,
    /// The card, its file list the content's.
    pub card: Card,
    /// The card's CID.
    pub card_cid: scal3ml_store::Cid,
    /// The message's CID (the proposal's description).
    pub description_cid: scal3ml_store::Cid,
    /// The version's own key, drawn fresh for an encrypted asset (each version has its own: docs/access.md).
    pub key: Option<scal3ml_store::crypt::FileKey>,
}

impl ImportedVersion {
    /// The three roots to upload or pin: content, card, message.
    pub fn roots(&self) -> [scal3ml_store::Cid; 3] {
        [self.content.root, self.card_cid, self.description_cid]
    }
}

/// Imports a proposed version into `store`: the file or folder at `source` (encrypted under a fresh key when
/// `encrypted`), `card` with its file list replaced by the content's and checked, and `message`. The one
/// import both proposal paths (the command line and the browser's upload) run.
pub async fn import_version<S: BlockStore + ?Sized>(
    store: &S,
    source: &std::path::Path,
    mut card: Card,
    message: &str,
    encrypted: bool,
) -> MarketResult<ImportedVersion> {
    let key = if encrypted {
        Some(scal3ml_store::crypt::FileKey::generate()?)
    } else {
        None
    };
    let prepared = content::prepare(store, source, key.as_ref()).await?;
    card.files = card_files(&prepared);
    card.validate()
        .map_err(|e| crate::MarketError::Invalid(format!("the new version's card: {e}")))?;
    let card_cid = store_card(store, &card).await?;
    let description_cid = scal3ml_store::add_reader(
        store,
        std::io::Cursor::new(message.as_bytes().to_vec()),
        content::import_options(),
    )
    .await?
    .cid;
    Ok(ImportedVersion {
        content: prepared,
        card,
        card_cid,
        description_cid,
        key,
    })
}

/// Now as RFC 3339 (UTC, seconds), as cards record their creation.
pub fn now_rfc3339() -> String {
    let secs = scal3ml_primitives::clock::now_secs();
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_percentages_and_people_parse_or_name_their_field() {
        assert_eq!(
            parse_duration("perpetual").unwrap(),
            LicenseDuration::Perpetual
        );
        assert_eq!(
            parse_duration("30d").unwrap(),
            LicenseDuration::Seconds(2_592_000)
        );
        assert_eq!(parse_duration("3 weeks").unwrap_err().field, "duration");
        assert_eq!(parse_percent("12.5%", "parent").unwrap(), 1250);
        assert_eq!(parse_percent("0", "parent").unwrap_err().field, "parent");
        let me = Address::repeat_byte(1);
        let other = Address::repeat_byte(2);
        let c = parse_collaborators(&[format!("{other}=30")], me).unwrap();
        assert_eq!(c, vec![(other, 3000)]);
        assert_eq!(shareholders(me, &c), vec![(me, 7000), (other, 3000)]);
        let e = parse_collaborators(&[format!("{other}=100")], me).unwrap_err();
        assert!(e.message.contains("nothing for you"), "{e}");
        assert_eq!(
            parse_parents(&["3=10".into()]).unwrap(),
            vec![(AssetId(3), 1000)]
        );
        assert_eq!(parse_parents(&["x=10".into()]).unwrap_err().field, "parent");
    }

    #[test]
    fn a_card_needs_kind_name_and_license_without_a_base() {
        let fields = CardFields {
            kind: Some(AssetKind::Model),
            name: Some("M".into()),
            ..Default::default()
        };
        assert_eq!(fields.card(None, &[]).unwrap_err().field, "license");
        let fields = CardFields {
            license: Some("MIT".into()),
            tags: vec!["nlp".into()],
            ..fields
        };
        let card = fields.card(None, &[(AssetId(2), 500)]).unwrap();
        assert_eq!((card.name.as_str(), card.parents.len()), ("M", 1));
        check_card(&card).unwrap();
    }
}

/// A new asset's content and card in a block store, ready to upload and publish.
#[derive(Debug)]
pub struct Packaged {
    /// The content root (encrypted under `key` when there is one).
    pub root: scal3ml_store::Cid,
    /// The card's CID.
    pub card_cid: scal3ml_store::Cid,
    /// The card, with its file list.
    pub card: Card,
    /// The content key of an encrypted asset: deposit it with the access gateway before publishing.
    pub key: Option<FileKey>,
}

/// Why [`package`] failed: the content could not be imported, or the card with its files is not valid.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Reading, encrypting or storing the content failed.
    #[error(transparent)]
    Content(#[from] MarketError),
    /// The card, with the files now listed, is not valid.
    #[error(transparent)]
    Card(#[from] CardError),
}

/// Imports `source` (a file or a folder) into `store`, encrypted under a fresh key when `encrypt`, lists its
/// files in `card`, checks the card and stores it. Check the card's other fields with [`check_card`] first, so
/// a bad field fails before the import.
pub async fn package<S: BlockStore + ?Sized>(
    store: &S,
    source: &Path,
    mut card: Card,
    encrypt: bool,
) -> Result<Packaged, PackageError> {
    let key = if encrypt {
        Some(FileKey::generate().map_err(MarketError::from)?)
    } else {
        None
    };
    let prepared = content::prepare(store, source, key.as_ref()).await?;
    card.files = card_files(&prepared);
    card.validate()?;
    let card_cid = store_card(store, &card).await?;
    Ok(Packaged {
        root: prepared.root,
        card_cid,
        card,
        key,
    })
}

/// The publish transaction of a packaged asset: the publisher holds the shares its collaborators do not, and
/// an encrypted asset names the access gateway holding its key (`gateway_url`).
pub fn publish_request(
    packaged: &Packaged,
    publisher: Address,
    collaborators: &[(Address, u64)],
    parents: Vec<(AssetId, u16)>,
    listing: LicenseTerms,
    gateway_url: &str,
) -> MarketResult<PublishRequest> {
    let encrypted = packaged.key.is_some();
    Ok(PublishRequest {
        kind: packaged.card.kind,
        content_cid: packaged.root,
        metadata_cid: packaged.card_cid,
        encrypted,
        gateway_url: if encrypted {
            gateway_url.to_owned()
        } else {
            String::new()
        },
        parents,
        shareholders: shareholders(publisher, collaborators),
        listing,
    })
}
