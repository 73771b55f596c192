//! A card's description: Markdown (CommonMark with tables and strikethrough) rendered to HTML, then
//! sanitised by ammonia, so that what a publisher writes can format text but never run script, load a frame or
//! carry a `javascript:` link. The output is the only card text a template prints unescaped.

use pulldown_cmark::{Options, Parser, html};
use std::sync::LazyLock;

/// Markdown to sanitised HTML.
pub(crate) fn render(markdown: &str) -> String {
    static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
        let mut b = ammonia::Builder::default();
        // Links leave the site without telling it where they came from, and carry no weight for ranking.
        b.link_rel(Some("noopener noreferrer nofollow"));
        b
    });
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    CLEANER.clean(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_formats() {
        let html =
            render("# Title\n\nSome *words* and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>words</em>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn scripts_are_removed() {
        let html =
            render("hello <script>alert(1)</script> world\n\n<script>\nalert(2)\n</script>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert"), "{html}");
        assert!(html.contains("hello"), "{html}");
    }

    #[test]
    fn event_handlers_and_styles_are_removed() {
        let html = render(
            "<img src=x onerror=alert(1)> <a href=\"/x\" onclick=\"steal()\">x</a> <p style=\"color:red\">p</p>",
        );
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("style="), "{html}");
    }

    #[test]
    fn javascript_links_are_removed() {
        for md in [
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">click</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">click</a>",
            "[click](data:text/html;base64,PHNjcmlwdD4=)",
        ] {
            let html = render(md);
            assert!(
                !html.to_lowercase().contains("javascript:"),
                "{md} -> {html}"
            );
            assert!(!html.contains("data:text"), "{md} -> {html}");
        }
        let html = render("[docs](https://example.org/a)");
        assert!(
            html.contains("href=\"https://example.org/a\" rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }

    #[test]
    fn frames_and_forms_are_removed() {
        let html = render(
            "<iframe src=\"https://evil.example\"></iframe><form action=/x><input name=a></form>",
        );
        assert!(!html.contains("<iframe"), "{html}");
        assert!(!html.contains("<form"), "{html}");
        assert!(!html.contains("<input"), "{html}");
    }
}
