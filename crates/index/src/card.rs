//! Cards: where the catalog gets their bytes ([`CardSource`]), how it reads them (JSON by field name) and
//! how failed fetches are retried.

use crate::{
    db::{Index, cid_text},
    error::{IndexError, IndexResult},
};
use rusqlite::params;
use scal3ml_primitives::Cid;
use serde_json::Value;
use std::{future::Future, pin::Pin};

/// Any error a card source reports.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What [`CardSource::card`] returns.
pub type CardFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Vec<u8>>, BoxError>> + Send + 'a>>;

/// Where the catalog gets the bytes of a card (the node implements it over its block store, a test over a
/// memory store). `Ok(None)` means "not here (yet)": the catalog retries later with back-off, as it does on
/// errors. The bytes need not be checked against the CID here if the source already verifies blocks.
pub trait CardSource: Send + Sync {
    /// The card JSON stored under `cid`, if available.
    fn card<'a>(&'a self, cid: &'a Cid) -> CardFuture<'a>;
}

/// The words a reader sees in a card's Markdown: text and inline code, blocks and line breaks as spaces;
/// link targets, image URLs, HTML and the syntax itself left out. Square brackets become parentheses, because
/// the catalog's snippets mark matched words with `[` `]`.
pub(crate) fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::Rule => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_),
            ) => out.push(' '),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('[', "(")
        .replace(']', ")")
}

/// The fields the catalog searches, read by name from a card's JSON (the description as [`plain_text`]).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct CardText {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) license: String,
    pub(crate) tags: Vec<String>,
    pub(crate) task: String,
    pub(crate) framework: String,
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Reads a card; `None` when the bytes are not a JSON object.
pub(crate) fn parse(bytes: &[u8]) -> Option<(Value, CardText)> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    if !value.is_object() {
        return None;
    }
    let tags = match value.get("tags") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let card = CardText {
        name: text(&value, "name"),
        description: plain_text(&text(&value, "description")),
        license: text(&value, "license"),
        tags,
        task: text(&value, "task"),
        framework: text(&value, "framework"),
    };
    Some((value, card))
}

/// Tags are stored one per line, so the text index sees each as words and exact matches can split them.
pub(crate) fn join_tags(tags: &[String]) -> String {
    tags.join("\n")
}

pub(crate) fn split_tags(tags: &str) -> Vec<String> {
    tags.lines()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn now_secs() -> i64 {
    scal3ml_primitives::clock::now_secs() as i64
}

impl Index {
    /// Stores a fetched card (or records why it could not be used) and indexes its text for every asset whose
    /// current metadata it is.
    pub(crate) fn store_card(
        &self,
        cid: &[u8],
        fetched: Result<Option<Vec<u8>>, String>,
    ) -> IndexResult<()> {
        let conn = self.writer();
        match fetched {
            Ok(Some(bytes)) => match parse(&bytes) {
                Some((value, card)) => {
                    conn.execute(
                        "UPDATE cards SET status = 1, error = NULL, json = ?2, name = ?3, description = ?4,
                            license = ?5, tags = ?6, task = ?7, framework = ?8 WHERE cid = ?1",
                        params![
                            cid,
                            value.to_string(),
                            card.name,
                            card.description,
                            card.license,
                            join_tags(&card.tags),
                            card.task,
                            card.framework
                        ],
                    )?;
                }
                None => {
                    conn.execute(
                        "UPDATE cards SET status = 2, error = 'not a JSON object' WHERE cid = ?1",
                        params![cid],
                    )?;
                }
            },
            Ok(None) | Err(_) => {
                let error = match &fetched {
                    Err(e) => e.clone(),
                    _ => "not found in the card source".to_owned(),
                };
                // Back-off: 1 s, 2 s, 4 s, ... at most 2048 s.
                conn.execute(
                    "UPDATE cards SET attempts = attempts + 1, error = ?2,
                        next_try = ?3 + (1 << min(attempts, 11)) WHERE cid = ?1",
                    params![cid, error, now_secs()],
                )?;
            }
        }
        Ok(())
    }

    /// Stores a card the caller already has (a node that received it with a publish), so the assets that use
    /// it are searchable without waiting for the fetch. The bytes must be what `cid` names: the catalog does
    /// not hash them. Returns whether the card could be read.
    pub fn add_card(&self, cid: &Cid, bytes: &[u8]) -> IndexResult<bool> {
        self.writer().execute(
            "INSERT OR IGNORE INTO cards (cid) VALUES (?1)",
            params![cid.to_bytes()],
        )?;
        self.store_card(&cid.to_bytes(), Ok(Some(bytes.to_vec())))?;
        Ok(parse(bytes).is_some())
    }

    /// Metadata CIDs whose card is due for a (re)try, oldest first.
    pub(crate) fn due_cards(&self, limit: usize) -> IndexResult<Vec<Vec<u8>>> {
        let conn = self.writer();
        let mut stmt = conn.prepare(
            "SELECT cid FROM cards WHERE status = 0 AND next_try <= ?1 ORDER BY next_try, rowid LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![now_secs(), limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Fetches every card that is due from `source` and indexes it. Returns how many were stored.
    pub async fn fetch_cards(&self, source: &dyn CardSource) -> IndexResult<usize> {
        let mut stored = 0;
        loop {
            let due = {
                let index = self.clone();
                tokio::task::spawn_blocking(move || index.due_cards(64))
                    .await
                    .map_err(|e| IndexError::Task(e.to_string()))??
            };
            if due.is_empty() {
                return Ok(stored);
            }
            let mut results = Vec::with_capacity(due.len());
            for cid in due {
                let fetched = match Cid::from_bytes(&cid) {
                    Ok(parsed) => source.card(&parsed).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = &fetched {
                    tracing::debug!(target: "index::cards", cid = %cid_text(&cid), error = %e, "card fetch failed");
                }
                results.push((cid, fetched));
            }
            let index = self.clone();
            let n = results.len();
            tokio::task::spawn_blocking(move || {
                for (cid, fetched) in results {
                    index.store_card(&cid, fetched)?;
                }
                IndexResult::Ok(())
            })
            .await
            .map_err(|e| IndexError::Task(e.to_string()))??;
            stored += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_by_name_and_tolerates_missing_ones() {
        let (_, card) = parse(br#"{"name":"n","tags":["a",1,"b"],"extra":{"x":1}}"#).unwrap();
        assert_eq!(card.name, "n");
        assert_eq!(card.tags, vec!["a", "b"]);
        assert_eq!(card.description, "");
        assert!(parse(b"[1,2]").is_none());
        assert!(parse(b"not json").is_none());
    }

    #[test]
    fn a_markdown_description_is_read_as_its_words() {
        let md = "# Iris\n\nMeasured **petals** and `sepals`, see [the paper](https://example.org/p.pdf) \
                  and ![a plot](plot.png).\n\n- one\n- two [1]\n\n<b>raw</b>\n\n```\ncode block\n```";
        assert_eq!(
            plain_text(md),
            "Iris Measured petals and sepals, see the paper and a plot. one two (1) raw code block"
        );
    }
}
