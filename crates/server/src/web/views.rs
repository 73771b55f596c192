//! What several pages show the same way: an asset in a list, and the error page.

use crate::web::{Layout, format};
use askama::Template;
use scal3ml_api::AssetSummary;
use scal3ml_api::NetworkInfo;

/// The error page (404, bad input, failures).
#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) layout: Layout,
    pub(crate) status: u16,
    pub(crate) heading: &'static str,
    pub(crate) message: String,
}

/// A piece of a snippet: text, and whether it matched the search words.
pub(crate) struct Piece {
    pub(crate) text: String,
    pub(crate) hit: bool,
}

/// An asset in a list of results.
pub(crate) struct SummaryView {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) snippet: Vec<Piece>,
    pub(crate) license: String,
    pub(crate) tags: Vec<String>,
    /// "free", "0.05 ETH", "0.05 ETH or 25 USDX", "not for sale".
    pub(crate) price: String,
    pub(crate) sales: u64,
    pub(crate) created: String,
    pub(crate) created_iso: String,
    pub(crate) encrypted: bool,
    pub(crate) deprecated: bool,
}

impl SummaryView {
    /// `marked`: the snippet comes from a text search, so `[` `]` mark matched words (else they are text).
    pub(crate) fn new(network: &NetworkInfo, s: &AssetSummary, marked: bool) -> Self {
        let price = if s.deprecated || s.listings.is_empty() {
            "not for sale".to_string()
        } else {
            s.listings
                .iter()
                .map(|l| format::price(network, l.token, l.price))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        Self {
            id: s.id,
            name: if s.name.is_empty() {
                format!("Asset {}", s.id)
            } else {
                s.name.clone()
            },
            kind: s.kind.to_string(),
            snippet: if marked {
                pieces(&s.snippet)
            } else if s.snippet.is_empty() {
                Vec::new()
            } else {
                vec![Piece {
                    text: s.snippet.clone(),
                    hit: false,
                }]
            },
            license: s.license.clone(),
            tags: s.tags.iter().take(6).cloned().collect(),
            price,
            sales: s.sales,
            created: format::time(s.created_time),
            created_iso: format::iso_time(s.created_time),
            encrypted: s.encrypted,
            deprecated: s.deprecated,
        }
    }
}

/// Splits a snippet at the catalog's `[` `]` marks around matched words.
pub(crate) fn pieces(snippet: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = snippet;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        if open > 0 {
            out.push(Piece {
                text: rest[..open].to_string(),
                hit: false,
            });
        }
        out.push(Piece {
            text: rest[open + 1..open + close].to_string(),
            hit: true,
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece {
            text: rest.to_string(),
            hit: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn snippets_split_at_marks() {
        let p = pieces("a [word] and [more] text");
        let texts: Vec<_> = p.iter().map(|p| (p.text.as_str(), p.hit)).collect();
        assert_eq!(
            texts,
            [
                ("a ", false),
                ("word", true),
                (" and ", false),
                ("more", true),
                (" text", false)
            ]
        );
        let p = pieces("unclosed [mark");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].text, "unclosed [mark");
    }
}
