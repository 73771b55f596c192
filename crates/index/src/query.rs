//! Queries over the catalog: search, asset detail, versions, lineage, accounts, stats.

use crate::{
    card::split_tags,
    db::{Index, cid_text, num, parse_addr, parse_num},
    error::{IndexError, IndexResult},
};
use alloy_primitives::{Address, U256};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params, params_from_iter};
use scal3ml_api::*;
use scal3ml_primitives::{AssetId, AssetKind, ProposalId};

/// What the access gateway needs to know about an asset's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetContent {
    /// Every version, version 0 (the publisher's) first, the latest last.
    pub versions: Vec<VersionInfo>,
    /// Whether the content is encrypted.
    pub encrypted: bool,
}

const ETH: &str = "0x0000000000000000000000000000000000000000";

/// Text matches (words and the license and tag phrases) up to which a sorted search sorts them all directly
/// rather than walking the sort's index: measured at 1,000,000 assets, sorting 12,700 matches by price beat
/// walking the price index for a page of them.
const SORT_MATCHES_CAP: u64 = 2_000;

/// Turns user words into an FTS5 query: each word becomes a quoted term (so operators and punctuation in user
/// input are never FTS syntax), all must match; a trailing `*` keeps prefix matching.
fn fts_terms(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '*' || c == '_'))
        .filter(|w| !w.trim_matches('*').is_empty())
        .map(|w| {
            let prefix = w.ends_with('*');
            let word = w.replace('*', "");
            if prefix {
                format!("\"{word}\"*")
            } else {
                format!("\"{word}\"")
            }
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// A column filter as an FTS phrase over the words of `value` (a fast candidate filter; the exact comparison
/// follows in SQL).
fn fts_phrase(column: &str, value: &str) -> Option<String> {
    let words: Vec<&str> = value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    (!words.is_empty()).then(|| format!("{column} : \"{}\"", words.join(" ")))
}

fn kind_of(v: i64) -> AssetKind {
    if v == 1 {
        AssetKind::Model
    } else {
        AssetKind::Dataset
    }
}

fn snippet_of(description: &str) -> String {
    const MAX: usize = 160;
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX {
        return text;
    }
    let mut cut: String = text.chars().take(MAX).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    cut.push('…');
    cut
}

/// `FROM ... WHERE ...` of one plan, and its arguments in order.
fn build<'a>(
    from: &str,
    fts_cond: Option<(&str, &'a String)>,
    conds: &[String],
    cond_args: &'a [Box<dyn ToSql>],
) -> (String, Vec<&'a dyn ToSql>) {
    let mut all: Vec<String> = Vec::new();
    let mut args: Vec<&dyn ToSql> = Vec::new();
    if let Some((c, expr)) = fts_cond {
        all.push(c.to_owned());
        args.push(expr as &dyn ToSql);
    }
    all.extend(conds.iter().cloned());
    args.extend(cond_args.iter().map(|b| b.as_ref()));
    let w = if all.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", all.join(" AND "))
    };
    (format!("FROM {from} {w}"), args)
}

impl Index {
    /// Finds assets by words and filters. Costs stay bounded at any catalog size: words, license and tag go
    /// through the FTS5 index, the other filters and the sorts through covering indexes, the total is counted
    /// only up to [`TOTAL_COUNT_CAP`], pages stop at [`MAX_RESULT_WINDOW`] results, and relevance is ranked
    /// only when the words match at most [`RANK_WINDOW`] assets (beyond that, newest first; `ranked` says so).
    ///
    /// The plan adapts to how many assets match: the capped count (driven by the text index when there are
    /// words, a license or a tag) tells whether the matches are few (then they are sorted directly) or many
    /// (then the sort's index is walked and each asset checked, which stops after a page because matches are
    /// dense). When a walk would check words, their text matches are read once into a set first; words with
    /// more matches than the rank window but at most `SORT_MATCHES_CAP` are sorted directly instead.
    pub fn search(&self, q: &SearchQuery) -> IndexResult<SearchPage> {
        let per_page = match q.per_page {
            0 => 20,
            n => n.min(MAX_PER_PAGE),
        };
        let page = q.page.max(1);
        let offset = u64::from(page - 1) * u64::from(per_page);
        let conn = self.reader()?;

        let text = q.text.as_deref().and_then(fts_terms);
        let mut fts = Vec::new();
        fts.extend(text.clone());
        fts.extend(q.license.as_deref().and_then(|l| fts_phrase("license", l)));
        fts.extend(q.tag.as_deref().and_then(|t| fts_phrase("tags", t)));
        let fts = (!fts.is_empty()).then(|| fts.join(" AND "));
        let sort = match q.sort {
            Sort::Relevance if text.is_none() => Sort::Newest,
            s => s,
        };

        // Conditions on `a` (and `l` when a price matters), the same in every plan.
        let mut conds: Vec<String> = Vec::new();
        let mut cond_args: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(kind) = q.kind {
            conds.push("a.kind = ?".into());
            cond_args.push(Box::new(kind.to_u8()));
        }
        if let Some(license) = &q.license {
            conds.push(
                "EXISTS (SELECT 1 FROM cards c WHERE c.cid = a.metadata_cid AND c.license = ? COLLATE NOCASE)".into(),
            );
            cond_args.push(Box::new(license.clone()));
        }
        if let Some(tag) = &q.tag {
            // Tags are stored one per line: match a whole line, case-insensitively.
            conds.push(
                "EXISTS (SELECT 1 FROM cards c WHERE c.cid = a.metadata_cid
                   AND instr(char(10) || lower(c.tags) || char(10), char(10) || lower(?) || char(10)) > 0)"
                    .into(),
            );
            cond_args.push(Box::new(tag.clone()));
        }
        if q.free_only {
            conds.push(format!(
                "EXISTS (SELECT 1 FROM listings z WHERE z.asset_id = a.id AND z.active = 1 AND z.price = '{}')",
                num(U256::ZERO)
            ));
        }
        let priced = matches!(sort, Sort::PriceAsc | Sort::PriceDesc)
            || q.min_price.is_some()
            || q.max_price.is_some()
            || q.token.is_some();
        if priced {
            conds.push("l.token = ? AND l.active = 1".into());
            cond_args.push(Box::new(
                q.token
                    .map(crate::db::addr)
                    .unwrap_or_else(|| ETH.to_owned()),
            ));
            if let Some(min) = q.min_price {
                conds.push("l.price >= ?".into());
                cond_args.push(Box::new(num(min)));
            }
            if let Some(max) = q.max_price {
                conds.push("l.price <= ?".into());
                cond_args.push(Box::new(num(max)));
            }
        }
        // Plan A: driven by the text index.
        // CROSS JOIN keeps this order: SQLite would otherwise walk the price index and run the text query
        // once per listing.
        let join_l = if priced {
            " CROSS JOIN listings l ON l.asset_id = a.id"
        } else {
            ""
        };
        let fts_from = format!("asset_fts f CROSS JOIN assets a ON a.id = f.rowid{join_l}");
        // Plan B: driven by the sort's index. The text matches (words, and the license and tag phrases) are
        // read from the text index once into a temporary set (SQLite materialises a constant `IN (SELECT ...)`),
        // so each asset walked costs a set lookup, not a text-index probe; license and tag are then checked
        // exactly on the card. The unary `+` keeps SQLite from driving the plan from that set: the walk must
        // follow the sort's index.
        let member = if priced {
            "+l.asset_id IN (SELECT rowid FROM asset_fts WHERE asset_fts MATCH ?)"
        } else {
            "+a.id IN (SELECT rowid FROM asset_fts WHERE asset_fts MATCH ?)"
        };
        let idx_from = if priced {
            "listings l CROSS JOIN assets a ON a.id = l.asset_id"
        } else {
            "assets a"
        };

        let (count_body, count_args) = match &fts {
            Some(expr) => build(
                &fts_from,
                Some(("asset_fts MATCH ?", expr)),
                &conds,
                &cond_args,
            ),
            None => build(idx_from, None, &conds, &cond_args),
        };
        let counted: u64 = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM (SELECT 1 {count_body} LIMIT {})",
                TOTAL_COUNT_CAP + 1
            ))?
            .query_row(params_from_iter(count_args.iter()), |r| r.get::<_, i64>(0))?
            as u64;
        let few = counted <= TOTAL_COUNT_CAP;

        // How many assets the words alone match (up to the rank window): few enough to rank or sort directly?
        let text_matches = match &text {
            Some(words) => conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM asset_fts WHERE asset_fts MATCH ?1 LIMIT {})",
                    RANK_WINDOW + 1
                ))?
                .query_row(params![words], |r| r.get::<_, i64>(0))? as u64,
            None => 0,
        };
        let text_few = text.is_some() && text_matches <= RANK_WINDOW;
        let ranked = sort == Sort::Relevance && text_few;
        let sort = if sort == Sort::Relevance && !ranked {
            Sort::Newest
        } else {
            sort
        };
        // The text index drives when matches are few (sorting them is cheap), and for newest-first with words
        // (its doclists come in rowid order). Otherwise matches are many and dense: walk the sort's index and
        // probe the words per asset.
        let mut use_fts =
            fts.is_some() && (few || text_few || (sort == Sort::Newest && text.is_some()));
        // Words with more matches than the rank window but sparse among the sort's index (a page would take
        // thousands of rows to find): sorting all their text matches directly is cheaper, up to some thousands.
        if fts.is_some() && text.is_some() && !use_fts {
            let matches: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM asset_fts WHERE asset_fts MATCH ?1 LIMIT {})",
                    SORT_MATCHES_CAP + 1
                ))?
                .query_row(params![fts], |r| r.get(0))?;
            use_fts = matches as u64 <= SORT_MATCHES_CAP;
        }
        let (body, args) = match (&fts, use_fts) {
            (Some(expr), true) => build(
                &fts_from,
                Some(("asset_fts MATCH ?", expr)),
                &conds,
                &cond_args,
            ),
            (Some(expr), false) if text.is_some() => {
                build(idx_from, Some((member, expr)), &conds, &cond_args)
            }
            _ => build(idx_from, None, &conds, &cond_args),
        };
        let newest = if use_fts { "f.rowid DESC" } else { "a.id DESC" };
        let order = match sort {
            Sort::Relevance => "f.rank, f.rowid DESC".to_owned(),
            Sort::Newest => newest.to_owned(),
            Sort::PriceAsc => format!("l.price ASC, {newest}"),
            Sort::PriceDesc => format!("l.price DESC, {newest}"),
            Sort::Sales => format!("a.sales DESC, {newest}"),
        };
        // Snippets are made only for the page's hits: in a sorted plan SQLite would make one for every match
        // before sorting (reading and tokenizing each description), which cost most of a ranked query. Newest
        // first by the text index needs no sort, so there they are made inline as the page's rows come.
        let snippets = use_fts && text.is_some();
        let inline_snippet = snippets && sort == Sort::Newest;
        let snippet = if inline_snippet {
            "snippet(asset_fts, 1, '[', ']', '…', 16)"
        } else {
            "NULL"
        };

        let mut items = Vec::new();
        if offset + u64::from(per_page) <= u64::from(MAX_RESULT_WINDOW) {
            let need = offset + u64::from(per_page);
            // Cheapest first by walking the price index: ties come newest first but the index holds them by
            // ascending id, so SQLite would read a whole tie group (all free listings, say) before the first
            // row when the words' matches are sparse in it. Instead: find the price of the page's last row in index order, then take the rows below it
            // and, newest first, the rows at it (each walk bounded by the page), and sort those.
            // Only with words: without them the extra walk cost more than the tie group (a price range).
            let boundary: Option<String> = if !use_fts && text.is_some() && sort == Sort::PriceAsc {
                conn.prepare_cached(&format!(
                    "SELECT l.price {body} ORDER BY l.price ASC LIMIT 1 OFFSET {}",
                    need - 1
                ))?
                .query_row(params_from_iter(args.iter()), |r| r.get(0))
                .optional()?
            } else {
                None
            };
            let hits: Vec<(i64, Option<String>)> = match &boundary {
                Some(price) => {
                    let sql = format!(
                        "SELECT id, NULL FROM (
                           SELECT * FROM (SELECT a.id AS id, l.price AS price {body} AND l.price < ?
                                          ORDER BY l.price ASC LIMIT {need})
                           UNION ALL
                           SELECT * FROM (SELECT a.id AS id, l.price AS price {body} AND l.price = ?
                                          ORDER BY l.asset_id DESC LIMIT {need}))
                         ORDER BY price ASC, id DESC LIMIT {per_page} OFFSET {offset}"
                    );
                    let mut all: Vec<&dyn ToSql> = args.clone();
                    all.push(price as &dyn ToSql);
                    all.extend(args.iter().copied());
                    all.push(price as &dyn ToSql);
                    conn.prepare_cached(&sql)?
                        .query_map(params_from_iter(all.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<Result<_, _>>()?
                }
                None => conn
                    .prepare_cached(&format!(
                        "SELECT a.id, {snippet} {body} ORDER BY {order} LIMIT {per_page} OFFSET {offset}"
                    ))?
                    .query_map(params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?,
            };
            for (id, snippet) in hits {
                let snippet = match (snippet, &fts) {
                    (None, Some(expr)) if snippets => conn
                        .prepare_cached(
                            "SELECT snippet(asset_fts, 1, '[', ']', '…', 16) FROM asset_fts
                             WHERE asset_fts MATCH ?1 AND rowid = ?2",
                        )?
                        .query_row(params![expr, id], |r| r.get::<_, Option<String>>(0))
                        .optional()?
                        .flatten(),
                    (snippet, _) => snippet,
                };
                if let Some(mut s) = summary(&conn, id)? {
                    if let Some(snippet) = snippet.filter(|s| !s.is_empty()) {
                        s.snippet = snippet;
                    }
                    items.push(s);
                }
            }
        }
        Ok(SearchPage {
            total: counted.min(TOTAL_COUNT_CAP),
            total_is_lower_bound: counted > TOTAL_COUNT_CAP,
            ranked,
            page,
            per_page,
            items,
        })
    }

    /// What a list shows about one asset.
    pub fn summary(&self, id: AssetId) -> IndexResult<Option<AssetSummary>> {
        let id = id.0;
        summary(&*self.reader()?, id as i64)
    }

    /// Everything known about an asset, or `None` if no such asset has been indexed.
    pub fn asset(&self, id: AssetId) -> IndexResult<Option<AssetDetail>> {
        let id = id.0;
        let conn = self.reader()?;
        let Some(summary) = summary(&conn, id as i64)? else {
            return Ok(None);
        };
        let (publisher, gateway_url, card): (String, String, Option<String>) = conn.query_row(
            "SELECT a.publisher, a.gateway_url, c.json FROM assets a
             LEFT JOIN cards c ON c.cid = a.metadata_cid AND c.status = 1 WHERE a.id = ?1",
            params![id as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let edges = |sql: &str| -> IndexResult<Vec<Edge>> {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt
                .query_map(params![id as i64], |r| {
                    Ok(Edge {
                        asset: r.get::<_, i64>(0)? as u64,
                        royalty_bps: r.get(1)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        };
        let parents =
            edges("SELECT parent, royalty_bps FROM lineage WHERE child = ?1 ORDER BY parent")?;
        let children =
            edges("SELECT child, royalty_bps FROM lineage WHERE parent = ?1 ORDER BY child")?;
        let mut shareholders = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT holder, balance FROM shares WHERE asset_id = ?1 ORDER BY balance DESC, holder",
            )?;
            let mut rows = stmt.query(params![id as i64])?;
            while let Some(r) = rows.next()? {
                shareholders.push(Shareholder {
                    holder: parse_addr(&r.get::<_, String>(0)?)?,
                    shares: parse_num(&r.get::<_, String>(1)?)?,
                });
            }
        }
        let mut revenue = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT token, credited, royalties_received, royalties_paid, withdrawn FROM revenue
                 WHERE asset_id = ?1 ORDER BY token",
            )?;
            let mut rows = stmt.query(params![id as i64])?;
            while let Some(r) = rows.next()? {
                revenue.push(Revenue {
                    token: parse_addr(&r.get::<_, String>(0)?)?,
                    credited: parse_num(&r.get::<_, String>(1)?)?,
                    royalties_received: parse_num(&r.get::<_, String>(2)?)?,
                    royalties_paid: parse_num(&r.get::<_, String>(3)?)?,
                    withdrawn: parse_num(&r.get::<_, String>(4)?)?,
                });
            }
        }
        Ok(Some(AssetDetail {
            summary,
            publisher: parse_addr(&publisher)?,
            gateway_url,
            card: card.and_then(|j| serde_json::from_str(&j).ok()),
            versions: versions(&conn, id)?,
            parents,
            children,
            shareholders,
            revenue,
            licenses: licenses_count(&conn, id)?,
            attestations: attestations(&conn, id)?,
        }))
    }

    /// Versions of an asset, oldest first (empty for an unknown asset).
    pub fn versions(&self, id: AssetId) -> IndexResult<Vec<VersionInfo>> {
        let id = id.0;
        versions(&*self.reader()?, id)
    }

    /// Ancestors and descendants of an asset, transitively, each at its shortest distance.
    pub fn lineage(&self, id: AssetId) -> IndexResult<Lineage> {
        let id = id.0;
        let conn = self.reader()?;
        let walk = |up: bool| -> IndexResult<Vec<LineageNode>> {
            let (from, to) = if up {
                ("child", "parent")
            } else {
                ("parent", "child")
            };
            let sql = format!(
                "WITH RECURSIVE walk(asset, depth) AS (
                    SELECT {to}, 1 FROM lineage WHERE {from} = ?1
                    UNION
                    SELECT l.{to}, w.depth + 1 FROM lineage l JOIN walk w ON l.{from} = w.asset WHERE w.depth < 64
                 )
                 SELECT w.asset, min(w.depth) AS d, coalesce(c.name, '') FROM walk w
                 LEFT JOIN assets a ON a.id = w.asset
                 LEFT JOIN cards c ON c.cid = a.metadata_cid AND c.status = 1
                 GROUP BY w.asset ORDER BY d, w.asset"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(params![id as i64], |r| {
                    Ok(LineageNode {
                        asset: r.get::<_, i64>(0)? as u64,
                        depth: r.get(1)?,
                        name: r.get(2)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        };
        Ok(Lineage {
            ancestors: walk(true)?,
            descendants: walk(false)?,
        })
    }

    /// An account's assets, share holdings and licenses.
    pub fn account(&self, account: Address) -> IndexResult<AccountView> {
        let conn = self.reader()?;
        let a = crate::db::addr(account);
        let ids: Vec<i64> = conn
            .prepare_cached("SELECT id FROM assets WHERE owner = ?1 ORDER BY id DESC LIMIT 1000")?
            .query_map(params![a], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut assets_owned = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = summary(&conn, id)? {
                assets_owned.push(s);
            }
        }
        let mut holdings = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT asset_id, balance FROM shares WHERE holder = ?1 ORDER BY asset_id",
            )?;
            let mut rows = stmt.query(params![a])?;
            while let Some(r) = rows.next()? {
                holdings.push(Holding {
                    asset: r.get::<_, i64>(0)? as u64,
                    shares: parse_num(&r.get::<_, String>(1)?)?,
                });
            }
        }
        let mut licenses = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT asset_id, token, paid, purchases, expiry FROM licenses WHERE buyer = ?1
                 ORDER BY asset_id, token",
            )?;
            let mut rows = stmt.query(params![a])?;
            while let Some(r) = rows.next()? {
                let expiry: i64 = r.get(4)?;
                licenses.push(LicenseInfo {
                    asset: r.get::<_, i64>(0)? as u64,
                    token: parse_addr(&r.get::<_, String>(1)?)?,
                    paid: parse_num(&r.get::<_, String>(2)?)?,
                    purchases: r.get::<_, i64>(3)? as u64,
                    expiry: (expiry != i64::MAX).then_some(expiry as u64),
                });
            }
        }
        Ok(AccountView {
            assets_owned,
            holdings,
            licenses,
        })
    }

    /// What the access gateway needs: every version (content, author, time) and whether it is encrypted.
    pub fn asset_content(&self, id: AssetId) -> IndexResult<Option<AssetContent>> {
        let id = id.0;
        let conn = self.reader()?;
        let encrypted: Option<bool> = conn
            .prepare_cached("SELECT encrypted FROM assets WHERE id = ?1")?
            .query_row(params![id as i64], |r| r.get(0))
            .optional()?;
        let Some(encrypted) = encrypted else {
            return Ok(None);
        };
        let versions = versions(&conn, id)?;
        if versions.is_empty() {
            return Ok(None);
        }
        Ok(Some(AssetContent {
            versions,
            encrypted,
        }))
    }

    /// Whether a chain event the catalog knows names this CID (binary form, as the contracts emit it): a
    /// version's content or card, an asset's card, a proposal's content, card or description, an attestation's
    /// or a review's report. The node keeps uploads that are referenced and collects the rest, and the access
    /// gateway keeps key deposits for referenced content and drops the rest after their grace period.
    pub fn references(&self, cid: &[u8]) -> IndexResult<bool> {
        let conn = self.reader()?;
        let found: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM versions WHERE content_cid = ?1)
                     OR EXISTS (SELECT 1 FROM versions WHERE metadata_cid = ?1)
                     OR EXISTS (SELECT 1 FROM assets WHERE metadata_cid = ?1)
                     OR EXISTS (SELECT 1 FROM proposals WHERE content_cid = ?1)
                     OR EXISTS (SELECT 1 FROM proposals WHERE metadata_cid = ?1)
                     OR EXISTS (SELECT 1 FROM proposals WHERE description_cid = ?1)
                     OR EXISTS (SELECT 1 FROM attestations WHERE report_cid = ?1)
                     OR EXISTS (SELECT 1 FROM reviews WHERE report_cid = ?1)",
            )?
            .query_row(params![cid], |r| r.get(0))?;
        Ok(found)
    }

    /// Catalog totals and the newest indexed block.
    pub fn stats(&self) -> IndexResult<Stats> {
        let conn = self.reader()?;
        let (datasets, models): (i64, i64) = conn.query_row(
            "SELECT (SELECT count(*) FROM assets WHERE kind = 0), (SELECT count(*) FROM assets WHERE kind = 1)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut sales = Vec::new();
        {
            let mut stmt =
                conn.prepare_cached("SELECT token, sales, volume FROM token_sales ORDER BY token")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                sales.push(TokenSales {
                    token: parse_addr(&r.get::<_, String>(0)?)?,
                    sales: r.get::<_, i64>(1)? as u64,
                    volume: parse_num(&r.get::<_, String>(2)?)?,
                });
            }
        }
        let next: Option<i64> = conn
            .query_row("SELECT next_block FROM cursor", [], |r| r.get(0))
            .optional()?;
        Ok(Stats {
            assets: (datasets + models) as u64,
            datasets: datasets as u64,
            models: models as u64,
            licenses: sales.iter().map(|s| s.sales).sum(),
            sales,
            last_indexed_block: next.and_then(|n| (n as u64).checked_sub(1)),
        })
    }

    /// Licenses sold for an asset.
    pub fn licenses_count(&self, id: AssetId) -> IndexResult<LicenseCount> {
        let id = id.0;
        licenses_count(&*self.reader()?, id)
    }

    /// Proposals for an asset, oldest first.
    pub fn proposals(&self, id: AssetId) -> IndexResult<Vec<ProposalInfo>> {
        let id = id.0;
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "{PROPOSAL_COLUMNS} WHERE p.asset_id = ?1 ORDER BY p.id"
        ))?;
        let mut rows = stmt.query(params![id as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(proposal_row(r)?);
        }
        Ok(out)
    }

    /// One proposal by its id, with its votes (largest weight first), `None` if the catalog has no such proposal.
    pub fn proposal(
        &self,
        id: ProposalId,
    ) -> IndexResult<Option<(ProposalInfo, Vec<ProposalVote>)>> {
        let id = id.0;
        let conn = self.reader()?;
        let found = conn
            .prepare_cached(&format!("{PROPOSAL_COLUMNS} WHERE p.id = ?1"))?
            .query_row(params![id as i64], |r| Ok(proposal_row(r)))
            .optional()?
            .transpose()?;
        let Some(found) = found else { return Ok(None) };
        let mut stmt =
            conn.prepare_cached("SELECT voter, support, weight FROM votes WHERE proposal_id = ?1")?;
        let mut rows = stmt.query(params![id as i64])?;
        let mut votes = Vec::new();
        while let Some(r) = rows.next()? {
            votes.push(ProposalVote {
                voter: parse_addr(&r.get::<_, String>(0)?)?,
                support: r.get(1)?,
                weight: parse_num(&r.get::<_, String>(2)?)?,
            });
        }
        votes.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.voter.cmp(&b.voter)));
        Ok(Some((found, votes)))
    }

    /// Attestations where the asset is the model or the dataset, oldest first.
    pub fn attestations(&self, id: AssetId) -> IndexResult<Vec<AttestationInfo>> {
        let id = id.0;
        attestations(&*self.reader()?, id)
    }
}

fn summary(conn: &Connection, id: i64) -> IndexResult<Option<AssetSummary>> {
    let row = conn
        .prepare_cached(
            "SELECT a.kind, a.owner, a.sales, a.created_block, a.created_time, a.encrypted, a.deprecated,
                c.status, c.name, c.description, c.license, c.tags
             FROM assets a LEFT JOIN cards c ON c.cid = a.metadata_cid WHERE a.id = ?1",
        )?
        .query_row(params![id], |r: &Row<'_>| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, bool>(6)?,
                r.get::<_, Option<i64>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
            ))
        })
        .optional()?;
    let Some((
        kind,
        owner,
        sales,
        block,
        time,
        encrypted,
        deprecated,
        status,
        name,
        description,
        license,
        tags,
    )) = row
    else {
        return Ok(None);
    };
    let mut listings = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT token, price, duration FROM listings WHERE asset_id = ?1 AND active = 1 ORDER BY token",
        )?;
        let mut rows = stmt.query(params![id])?;
        while let Some(r) = rows.next()? {
            listings.push(ListingInfo {
                token: parse_addr(&r.get::<_, String>(0)?)?,
                price: parse_num(&r.get::<_, String>(1)?)?,
                duration: r.get::<_, i64>(2)? as u64,
            });
        }
    }
    Ok(Some(AssetSummary {
        id: id as u64,
        kind: kind_of(kind),
        name: name.unwrap_or_default(),
        snippet: snippet_of(description.as_deref().unwrap_or("")),
        license: license.unwrap_or_default(),
        tags: split_tags(tags.as_deref().unwrap_or("")),
        owner: parse_addr(&owner)?,
        listings,
        sales: sales as u64,
        created_block: block as u64,
        created_time: time as u64,
        encrypted,
        deprecated,
        card_indexed: status == Some(1),
    }))
}

fn versions(conn: &Connection, id: u64) -> IndexResult<Vec<VersionInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, content_cid, metadata_cid, author, commitment, block, time FROM versions
         WHERE asset_id = ?1 ORDER BY idx",
    )?;
    let mut rows = stmt.query(params![id as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(VersionInfo {
            index: r.get::<_, i64>(0)? as u64,
            content_cid: cid_text(&r.get::<_, Vec<u8>>(1)?),
            metadata_cid: cid_text(&r.get::<_, Vec<u8>>(2)?),
            author: parse_addr(&r.get::<_, String>(3)?)?,
            commitment: format!(
                "0x{}",
                alloy_primitives::hex::encode(r.get::<_, Vec<u8>>(4)?)
            ),
            block: r.get::<_, i64>(5)? as u64,
            time: r.get::<_, i64>(6)? as u64,
        });
    }
    Ok(out)
}

fn licenses_count(conn: &Connection, id: u64) -> IndexResult<LicenseCount> {
    let (accounts, purchases): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(DISTINCT buyer), sum(purchases) FROM licenses WHERE asset_id = ?1",
        )?
        .query_row(params![id as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(LicenseCount {
        accounts: accounts as u64,
        purchases: purchases.unwrap_or(0) as u64,
    })
}

fn attestations(conn: &Connection, id: u64) -> IndexResult<Vec<AttestationInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, model_asset, model_version, dataset_asset, dataset_version, attester, metric, value,
            decimals, report_cid, endorsements, disputes FROM attestations
         WHERE model_asset = ?1 OR dataset_asset = ?1 ORDER BY id",
    )?;
    let mut rows = stmt.query(params![id as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let aid: i64 = r.get(0)?;
        let mut reviews = Vec::new();
        {
            let mut rs = conn.prepare_cached(
                "SELECT reviewer, agrees, report_cid FROM reviews WHERE attestation_id = ?1 ORDER BY reviewer",
            )?;
            let mut rrows = rs.query(params![aid])?;
            while let Some(rr) = rrows.next()? {
                reviews.push(ReviewInfo {
                    reviewer: parse_addr(&rr.get::<_, String>(0)?)?,
                    agrees: rr.get(1)?,
                    report_cid: cid_text(&rr.get::<_, Vec<u8>>(2)?),
                });
            }
        }
        out.push(AttestationInfo {
            id: aid as u64,
            model_asset: r.get::<_, i64>(1)? as u64,
            model_version: r.get::<_, i64>(2)? as u64,
            dataset_asset: r.get::<_, i64>(3)? as u64,
            dataset_version: r.get::<_, i64>(4)? as u64,
            attester: parse_addr(&r.get::<_, String>(5)?)?,
            metric: r.get(6)?,
            value: r.get(7)?,
            decimals: r.get(8)?,
            report_cid: cid_text(&r.get::<_, Vec<u8>>(9)?),
            endorsements: r.get::<_, i64>(10)? as u64,
            disputes: r.get::<_, i64>(11)? as u64,
            reviews,
        });
    }
    Ok(out)
}

const PROPOSAL_COLUMNS: &str =
    "SELECT p.id, p.asset_id, p.proposer, p.content_cid, p.metadata_cid, p.requested_shares,
    p.description_cid, p.snapshot_block, p.deadline, p.state, p.version_index, p.yes_votes,
    p.no_votes, (SELECT count(*) FROM votes v WHERE v.proposal_id = p.id)
 FROM proposals p";

fn proposal_row(r: &Row<'_>) -> IndexResult<ProposalInfo> {
    Ok(ProposalInfo {
        id: r.get::<_, i64>(0)? as u64,
        asset: r.get::<_, i64>(1)? as u64,
        proposer: parse_addr(&r.get::<_, String>(2)?)?,
        content_cid: cid_text(&r.get::<_, Vec<u8>>(3)?),
        metadata_cid: cid_text(&r.get::<_, Vec<u8>>(4)?),
        requested_shares: parse_num(&r.get::<_, String>(5)?)?,
        description_cid: cid_text(&r.get::<_, Vec<u8>>(6)?),
        snapshot_block: r.get::<_, i64>(7)? as u64,
        deadline: r.get::<_, i64>(8)? as u64,
        state: {
            let text: String = r.get(9)?;
            text.parse().map_err(|_| IndexError::Corrupt {
                what: "proposal state",
                value: text,
            })?
        },
        version_index: r.get::<_, Option<i64>>(10)?.map(|v| v as u64),
        yes_votes: parse_num(&r.get::<_, String>(11)?)?,
        no_votes: parse_num(&r.get::<_, String>(12)?)?,
        votes: r.get::<_, i64>(13)? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_words_never_become_fts_syntax() {
        assert_eq!(
            fts_terms("tiny OR \"x\" NEAR(y) col:z").as_deref(),
            Some("\"tiny\" \"OR\" \"x\" \"NEAR\" \"y\" \"col\" \"z\"")
        );
        assert_eq!(fts_terms("bert*").as_deref(), Some("\"bert\"*"));
        assert_eq!(fts_terms(" -- "), None);
        assert_eq!(
            fts_phrase("license", "Apache-2.0").as_deref(),
            Some("license : \"Apache 2 0\"")
        );
    }

    #[test]
    fn snippets_are_short_and_cut_at_a_word() {
        assert_eq!(snippet_of("a  b\nc"), "a b c");
        let long = "word ".repeat(100);
        let s = snippet_of(&long);
        assert!(s.ends_with('…') && s.chars().count() <= 161, "{s}");
    }
}
