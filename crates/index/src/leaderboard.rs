//! Leaderboards: a dataset's attestations per metric, best first, with their endorsement and dispute counts;
//! and one attestation by id with its reviews.

use crate::{
    db::{Index, cid_text, parse_addr},
    error::IndexResult,
};
use alloy_primitives::I256;
use rusqlite::{Connection, OptionalExtension, Row, params};
use scal3ml_api::{AttestationInfo, Direction, Leaderboard, LeaderboardRow, ReviewInfo};
use scal3ml_primitives::{AssetId, AttestationId};
use std::cmp::Ordering;

impl Index {
    /// One attestation with its reviews, or `None` if the catalog has none with this id.
    pub fn attestation(&self, id: AttestationId) -> IndexResult<Option<AttestationInfo>> {
        let id = id.0;
        let conn = self.reader()?;
        let found = conn
            .prepare_cached(
                "SELECT id, model_asset, model_version, dataset_asset, dataset_version, attester, metric, value,
                    decimals, report_cid, endorsements, disputes FROM attestations WHERE id = ?1",
            )?
            .query_row(params![id as i64], |r| Ok(raw_attestation(r)))
            .optional()?;
        let Some(raw) = found else {
            return Ok(None);
        };
        let raw = raw?;
        let reviews = reviews(&conn, id)?;
        Ok(Some(raw.into_info(reviews)?))
    }

    /// The leaderboards of `dataset`: one per metric (only `metric` when given, even if empty), each ranked
    /// best first by [`Direction::of`] its metric, optionally only for one dataset version. Metrics in name
    /// order.
    pub fn leaderboard(
        &self,
        dataset: AssetId,
        metric: Option<&str>,
        dataset_version: Option<u64>,
    ) -> IndexResult<Vec<Leaderboard>> {
        let dataset = dataset.0;
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT t.id, t.model_asset, t.model_version, t.dataset_asset, t.dataset_version, t.attester,
                t.metric, t.value, t.decimals, t.report_cid, t.endorsements, t.disputes, c.name
             FROM attestations t
             LEFT JOIN assets a ON a.id = t.model_asset
             LEFT JOIN cards c ON c.cid = a.metadata_cid
             WHERE t.dataset_asset = ?1 AND (?2 IS NULL OR t.metric = ?2)
               AND (?3 IS NULL OR t.dataset_version = ?3)
             ORDER BY t.metric, t.id",
        )?;
        let mut rows = stmt.query(params![
            dataset as i64,
            metric,
            dataset_version.map(|v| v as i64)
        ])?;
        let mut boards: Vec<Leaderboard> = Vec::new();
        let mut values: Vec<Vec<(I256, u8)>> = Vec::new();
        while let Some(r) = rows.next()? {
            let raw = raw_attestation(r)?;
            let name: Option<String> = r.get(12)?;
            if boards.last().is_none_or(|b| b.metric != raw.metric) {
                boards.push(Leaderboard {
                    dataset,
                    direction: Direction::of(&raw.metric),
                    metric: raw.metric.clone(),
                    rows: Vec::new(),
                });
                values.push(Vec::new());
            }
            let parsed = I256::from_dec_str(&raw.value).unwrap_or(I256::ZERO);
            values
                .last_mut()
                .expect("pushed")
                .push((parsed, raw.decimals));
            boards
                .last_mut()
                .expect("pushed")
                .rows
                .push(LeaderboardRow {
                    rank: 0,
                    attestation: raw.id,
                    model_asset: raw.model_asset,
                    model_name: name.unwrap_or_default(),
                    model_version: raw.model_version,
                    dataset_version: raw.dataset_version,
                    value: decimal_text(&raw.value, raw.decimals),
                    raw_value: raw.value,
                    decimals: raw.decimals,
                    attester: parse_addr(&raw.attester)?,
                    endorsements: raw.endorsements,
                    disputes: raw.disputes,
                    report_cid: cid_text(&raw.report_cid),
                });
        }
        for (board, values) in boards.iter_mut().zip(values) {
            let higher = board.direction.higher_is_better();
            let mut order: Vec<usize> = (0..board.rows.len()).collect();
            // Stable: equal values keep attestation order.
            order.sort_by(|&a, &b| {
                let o = compare_fixed(values[a], values[b]);
                if higher { o.reverse() } else { o }
            });
            let mut sorted: Vec<LeaderboardRow> = Vec::with_capacity(order.len());
            for (place, &i) in order.iter().enumerate() {
                let mut row = board.rows[i].clone();
                row.rank = match sorted.last() {
                    Some(prev) if compare_fixed(values[order[place - 1]], values[i]).is_eq() => {
                        prev.rank
                    }
                    _ => place as u32 + 1,
                };
                sorted.push(row);
            }
            board.rows = sorted;
        }
        if let Some(m) = metric
            && boards.is_empty()
        {
            boards.push(Leaderboard {
                dataset,
                metric: m.to_string(),
                direction: Direction::of(m),
                rows: Vec::new(),
            });
        }
        Ok(boards)
    }
}

struct RawAttestation {
    id: u64,
    model_asset: u64,
    model_version: u64,
    dataset_asset: u64,
    dataset_version: u64,
    attester: String,
    metric: String,
    value: String,
    decimals: u8,
    report_cid: Vec<u8>,
    endorsements: u64,
    disputes: u64,
}

impl RawAttestation {
    fn into_info(self, reviews: Vec<ReviewInfo>) -> IndexResult<AttestationInfo> {
        Ok(AttestationInfo {
            id: self.id,
            model_asset: self.model_asset,
            model_version: self.model_version,
            dataset_asset: self.dataset_asset,
            dataset_version: self.dataset_version,
            attester: parse_addr(&self.attester)?,
            metric: self.metric,
            value: self.value,
            decimals: self.decimals,
            report_cid: cid_text(&self.report_cid),
            endorsements: self.endorsements,
            disputes: self.disputes,
            reviews,
        })
    }
}

fn raw_attestation(r: &Row<'_>) -> rusqlite::Result<RawAttestation> {
    Ok(RawAttestation {
        id: r.get::<_, i64>(0)? as u64,
        model_asset: r.get::<_, i64>(1)? as u64,
        model_version: r.get::<_, i64>(2)? as u64,
        dataset_asset: r.get::<_, i64>(3)? as u64,
        dataset_version: r.get::<_, i64>(4)? as u64,
        attester: r.get(5)?,
        metric: r.get(6)?,
        value: r.get(7)?,
        decimals: r.get(8)?,
        report_cid: r.get(9)?,
        endorsements: r.get::<_, i64>(10)? as u64,
        disputes: r.get::<_, i64>(11)? as u64,
    })
}

fn reviews(conn: &Connection, attestation: u64) -> IndexResult<Vec<ReviewInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT reviewer, agrees, report_cid FROM reviews WHERE attestation_id = ?1 ORDER BY reviewer",
    )?;
    let mut rows = stmt.query(params![attestation as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(ReviewInfo {
            reviewer: parse_addr(&r.get::<_, String>(0)?)?,
            agrees: r.get(1)?,
            report_cid: cid_text(&r.get::<_, Vec<u8>>(2)?),
        });
    }
    Ok(out)
}

/// Compares `a / 10^da` with `b / 10^db` exactly.
fn compare_fixed((a, da): (I256, u8), (b, db): (I256, u8)) -> Ordering {
    let scale = |v: I256, by: u8| -> Option<I256> {
        let ten = I256::try_from(10u8).expect("10 fits");
        let mut v = v;
        for _ in 0..by {
            v = v.checked_mul(ten)?;
        }
        Some(v)
    };
    let (a2, b2) = if da < db {
        (scale(a, db - da), Some(b))
    } else {
        (Some(a), scale(b, da - db))
    };
    match (a2, b2) {
        (Some(x), Some(y)) => x.cmp(&y),
        // Scaling overflowed: that side's magnitude is beyond the other's, so its sign decides.
        (None, _) => {
            if a.is_negative() {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (_, None) => {
            if b.is_negative() {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// A decimal integer string with `decimals` decimals as a decimal: (`966667`, 6) is `0.966667`.
pub fn decimal_text(value: &str, decimals: u8) -> String {
    let (sign, digits) = match value.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", value),
    };
    let d = usize::from(decimals);
    if d == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    format!("{sign}{int}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: i64, d: u8) -> (I256, u8) {
        (I256::try_from(x).unwrap(), d)
    }

    #[test]
    fn fixed_values_compare_across_decimals() {
        assert!(compare_fixed(v(966_667, 6), v(97, 2)).is_lt());
        assert!(compare_fixed(v(5, 1), v(500_000, 6)).is_eq());
        assert!(compare_fixed(v(-1, 0), v(1, 6)).is_lt());
    }

    #[test]
    fn decimal_text_places_the_point() {
        assert_eq!(decimal_text("966667", 6), "0.966667");
        assert_eq!(decimal_text("-7813", 6), "-0.007813");
        assert_eq!(decimal_text("12", 0), "12");
    }

    #[test]
    fn known_metrics_have_a_direction() {
        assert_eq!(Direction::of("accuracy"), Direction::HigherIsBetter);
        assert_eq!(Direction::of("RMSE"), Direction::LowerIsBetter);
        assert_eq!(Direction::of("bleu"), Direction::AssumedHigherIsBetter);
    }
}
