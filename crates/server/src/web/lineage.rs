//! The lineage graph of an asset as inline SVG, drawn on the server: ancestors in columns to the left by
//! distance, descendants to the right, the asset in the middle. Direct parents and children are joined to it by
//! solid lines labelled with their royalty; assets further away are joined by dashed lines to the column nearer
//! the middle (the catalog gives their distance, not their exact path). Every name is escaped here, since the
//! template prints the SVG as it is.

use crate::web::format;
use scal3ml_api::{Edge, Lineage, LineageNode};
use std::fmt::Write as _;

/// Columns drawn on each side; farther assets are counted, not drawn.
const MAX_DEPTH: u32 = 3;
/// Boxes drawn in one column; the rest are counted in a last box.
const MAX_PER_COLUMN: usize = 8;
const BOX_W: u32 = 190;
const BOX_H: u32 = 40;
const COL_GAP: u32 = 70;
const ROW_GAP: u32 = 14;
const PAD: u32 = 8;
/// Characters of a name shown in a box (the full name is the box's tooltip).
const NAME_CHARS: usize = 20;

/// One drawn box.
struct Placed {
    x: u32,
    y: u32,
    label: String,
    title: String,
    href: Option<String>,
}

/// The SVG, or `None` when the asset has neither parents nor children.
pub(crate) fn svg(
    id: u64,
    name: &str,
    lineage: &Lineage,
    parents: &[Edge],
    children: &[Edge],
) -> Option<String> {
    if lineage.ancestors.is_empty() && lineage.descendants.is_empty() {
        return None;
    }
    let left = columns(&lineage.ancestors);
    let right = columns(&lineage.descendants);
    let n_cols = left.len() + 1 + right.len();
    let tallest = left
        .iter()
        .chain(&right)
        .map(Vec::len)
        .max()
        .unwrap_or(1)
        .max(1);
    let height = PAD * 2 + tallest as u32 * (BOX_H + ROW_GAP) - ROW_GAP;
    let width = PAD * 2 + n_cols as u32 * (BOX_W + COL_GAP) - COL_GAP;
    let col_x = |col: usize| PAD + col as u32 * (BOX_W + COL_GAP);
    let place = |col: usize, nodes: &[Node<'_>]| -> Vec<(Placed, u64)> {
        let total = nodes.len() as u32 * (BOX_H + ROW_GAP) - ROW_GAP;
        let top = (height - total) / 2;
        nodes
            .iter()
            .enumerate()
            .map(|(row, node)| {
                let y = top + row as u32 * (BOX_H + ROW_GAP);
                let placed = match node {
                    Node::Asset(n) => Placed {
                        x: col_x(col),
                        y,
                        label: label(n.asset, &n.name),
                        title: title(n.asset, &n.name),
                        href: Some(format!("/assets/{}", n.asset)),
                    },
                    Node::More(k) => Placed {
                        x: col_x(col),
                        y,
                        label: format!("+{k} more"),
                        title: format!("{k} more assets at this distance"),
                        href: None,
                    },
                };
                let asset = match node {
                    Node::Asset(n) => n.asset,
                    Node::More(_) => 0,
                };
                (placed, asset)
            })
            .collect()
    };

    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        "<svg class=\"lineage\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"group\" aria-labelledby=\"lineage-title\">\
         <title id=\"lineage-title\">Lineage of {}: {} ancestors, {} descendants</title>",
        escape(&title(id, name)),
        lineage.ancestors.len(),
        lineage.descendants.len()
    );
    let mid_col = left.len();
    let mid_y = (height - BOX_H) / 2;
    let mid_x = col_x(mid_col);
    let mut edges = String::new();
    let mut boxes = String::new();
    // Left: column 0 is the farthest ancestors; the column next to the middle holds the parents.
    let mut placed_left = Vec::new();
    for (i, nodes) in left.iter().enumerate() {
        placed_left.push(place(mid_col - 1 - i, nodes));
    }
    let mut placed_right = Vec::new();
    for (i, nodes) in right.iter().enumerate() {
        placed_right.push(place(mid_col + 1 + i, nodes));
    }
    for (depth, column) in placed_left.iter().enumerate() {
        for (p, asset) in column {
            let (x1, y1) = (p.x + BOX_W, p.y + BOX_H / 2);
            if depth == 0 {
                let royalty = parents
                    .iter()
                    .find(|e| e.asset == *asset)
                    .map(|e| e.royalty_bps);
                line(&mut edges, x1, y1, mid_x, mid_y + BOX_H / 2, false, royalty);
            } else {
                let x2 = col_x(mid_col - depth);
                line(&mut edges, x1, y1, x2, height / 2, true, None);
            }
            draw_box(&mut boxes, p, false);
        }
    }
    for (depth, column) in placed_right.iter().enumerate() {
        for (p, asset) in column {
            let (x2, y2) = (p.x, p.y + BOX_H / 2);
            if depth == 0 {
                let royalty = children
                    .iter()
                    .find(|e| e.asset == *asset)
                    .map(|e| e.royalty_bps);
                line(
                    &mut edges,
                    mid_x + BOX_W,
                    mid_y + BOX_H / 2,
                    x2,
                    y2,
                    false,
                    royalty,
                );
            } else {
                let x1 = col_x(mid_col + depth) + BOX_W;
                line(&mut edges, x1, height / 2, x2, y2, true, None);
            }
            draw_box(&mut boxes, p, false);
        }
    }
    let me = Placed {
        x: mid_x,
        y: mid_y,
        label: label(id, name),
        title: title(id, name),
        href: None,
    };
    draw_box(&mut boxes, &me, true);
    out.push_str(&edges);
    out.push_str(&boxes);
    out.push_str("</svg>");
    Some(out)
}

enum Node<'a> {
    Asset(&'a LineageNode),
    More(usize),
}

/// Nodes by distance 1..=MAX_DEPTH (nearest first), each column cut to MAX_PER_COLUMN boxes.
fn columns(nodes: &[LineageNode]) -> Vec<Vec<Node<'_>>> {
    let deepest = nodes
        .iter()
        .map(|n| n.depth)
        .max()
        .unwrap_or(0)
        .min(MAX_DEPTH);
    (1..=deepest)
        .map(|d| {
            let at: Vec<&LineageNode> = nodes.iter().filter(|n| n.depth == d).collect();
            let mut col: Vec<Node<'_>> = Vec::new();
            if at.len() > MAX_PER_COLUMN {
                col.extend(at[..MAX_PER_COLUMN - 1].iter().map(|n| Node::Asset(n)));
                col.push(Node::More(at.len() - (MAX_PER_COLUMN - 1)));
            } else {
                col.extend(at.into_iter().map(Node::Asset));
            }
            col
        })
        .filter(|c| !c.is_empty())
        .collect()
}

fn label(id: u64, name: &str) -> String {
    let name = if name.is_empty() {
        "(card not read yet)"
    } else {
        name
    };
    let mut short: String = name.chars().take(NAME_CHARS).collect();
    if name.chars().count() > NAME_CHARS {
        short.push('…');
    }
    format!("#{id} {short}")
}

fn title(id: u64, name: &str) -> String {
    if name.is_empty() {
        format!("asset {id}")
    } else {
        format!("{name} (asset {id})")
    }
}

fn line(out: &mut String, x1: u32, y1: u32, x2: u32, y2: u32, dashed: bool, royalty: Option<u16>) {
    let class = if dashed { "ln-edge ln-far" } else { "ln-edge" };
    let _ = write!(
        out,
        "<line class=\"{class}\" x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\"/>"
    );
    if let Some(bps) = royalty {
        let (x, y) = ((x1 + x2) / 2, (y1 + y2) / 2);
        let _ = write!(
            out,
            "<text class=\"ln-royalty\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            y.saturating_sub(4),
            escape(&format::bps(bps))
        );
    }
}

fn draw_box(out: &mut String, p: &Placed, me: bool) {
    let class = if me { "ln-node ln-self" } else { "ln-node" };
    if let Some(href) = &p.href {
        let _ = write!(out, "<a href=\"{}\">", escape(href));
    }
    let _ = write!(
        out,
        "<g class=\"{class}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
        escape(&p.title),
        p.x,
        p.y,
        p.x + BOX_W / 2,
        p.y + BOX_H / 2 + 5,
        escape(&p.label)
    );
    if p.href.is_some() {
        out.push_str("</a>");
    }
}

/// Escapes text for an XML text node or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(asset: u64, name: &str, depth: u32) -> LineageNode {
        LineageNode {
            asset,
            name: name.into(),
            depth,
        }
    }

    #[test]
    fn no_lineage_no_graph() {
        let empty = Lineage {
            ancestors: vec![],
            descendants: vec![],
        };
        assert!(svg(1, "x", &empty, &[], &[]).is_none());
    }

    #[test]
    fn names_are_escaped() {
        let lineage = Lineage {
            ancestors: vec![node(1, "<script>alert(1)</script>", 1)],
            descendants: vec![node(3, "a \"quoted\" & <b>bold</b>", 1)],
        };
        let svg = svg(
            2,
            "</svg><script>x</script>",
            &lineage,
            &[Edge {
                asset: 1,
                royalty_bps: 1000,
            }],
            &[],
        )
        .unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("&quot;quoted&quot; &amp;"), "{svg}");
        assert_eq!(svg.matches("</svg>").count(), 1, "{svg}");
    }

    #[test]
    fn direct_edges_carry_their_royalty_and_nodes_link() {
        let lineage = Lineage {
            ancestors: vec![node(1, "data", 1), node(7, "raw", 2)],
            descendants: vec![node(3, "tuned", 1)],
        };
        let svg = svg(
            2,
            "model",
            &lineage,
            &[Edge {
                asset: 1,
                royalty_bps: 1000,
            }],
            &[Edge {
                asset: 3,
                royalty_bps: 250,
            }],
        )
        .unwrap();
        assert!(svg.contains(">10%</text>"), "{svg}");
        assert!(svg.contains(">2.5%</text>"), "{svg}");
        assert!(svg.contains("href=\"/assets/1\""), "{svg}");
        assert!(svg.contains("href=\"/assets/7\""), "{svg}");
        assert!(
            svg.contains("ln-far"),
            "a grandparent is joined by a dashed line: {svg}"
        );
        assert!(
            !svg.contains("href=\"/assets/2\""),
            "the asset itself is no link: {svg}"
        );
    }

    #[test]
    fn wide_columns_are_cut() {
        let lineage = Lineage {
            ancestors: (1..=20).map(|i| node(i, "p", 1)).collect(),
            descendants: vec![],
        };
        let svg = svg(100, "m", &lineage, &[], &[]).unwrap();
        assert_eq!(svg.matches("<rect").count(), MAX_PER_COLUMN + 1);
        assert!(svg.contains("+13 more"), "{svg}");
    }
}
