//! A version diff as an HTML fragment for the pages (the proposals page shows what a proposal changes, the
//! changes page what a version changed): the files with their change, then each changed table or model in the
//! words of `scal3ml diff`. Every value is escaped by the template.

use askama::Template;
use scal3ml_diff::{FileStatus, TreeDiff};

/// Both sides of a diff a page computes together, at most (the API compares up to 512 MiB).
pub(crate) const PAGE_DIFF_BYTES: u64 = 32 << 20;

struct FileView {
    path: String,
    status: &'static str,
    format: String,
    sizes: String,
    /// What changed inside, as `scal3ml diff` prints it (empty for unchanged or binary files).
    detail: String,
}

#[derive(Template)]
#[template(path = "diff.html")]
struct DiffPartial {
    old: String,
    new: String,
    summary: String,
    files: Vec<FileView>,
}

/// The diff as an HTML fragment (a `<section class="diff">`), safe to place in a page as it is.
pub(crate) fn diff_html(diff: &TreeDiff) -> String {
    let size = |s: &Option<scal3ml_diff::FileSide>| {
        s.as_ref()
            .map_or_else(String::new, |s| super::format::size(s.size))
    };
    let files = diff
        .files
        .iter()
        .map(|f| FileView {
            path: f.path.clone(),
            status: match f.status {
                FileStatus::Added => "added",
                FileStatus::Removed => "removed",
                FileStatus::Changed => "changed",
                FileStatus::Unchanged => "unchanged",
            },
            format: f.format.clone(),
            sizes: match f.status {
                FileStatus::Changed => format!("{} → {}", size(&f.old), size(&f.new)),
                FileStatus::Removed => size(&f.old),
                _ => size(&f.new),
            },
            detail: if f.content.is_some() || f.error.is_some() {
                // The first line repeats the path and format the summary shows.
                let text = f.render_text();
                text.split_once('\n')
                    .map_or(text.clone(), |(_, rest)| rest.to_string())
            } else {
                String::new()
            },
        })
        .collect();
    DiffPartial {
        old: diff.old.clone(),
        new: diff.new.clone(),
        summary: format!(
            "{} changed, {} added, {} removed, {} unchanged",
            diff.changed, diff.added, diff.removed, diff.unchanged
        ),
        files,
    }
    .render()
    .unwrap_or_else(|e| format!("<p>the diff could not be shown: {e}</p>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_changes_listed() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("t.csv"), "id,name\n1,<script>\n2,x\n").unwrap();
        std::fs::write(b.join("t.csv"), "id,name\n2,x\n").unwrap();
        std::fs::write(b.join("<b>.txt"), "new").unwrap();
        let diff = scal3ml_diff::diff_dirs(&a, &b, &scal3ml_diff::DiffOptions::default()).unwrap();
        let html = diff_html(&diff);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert!(html.contains("&#60;b&#62;.txt</td><td>added"), "{html}");
        assert!(html.contains("-1 removed"), "{html}");
    }
}
