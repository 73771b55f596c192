//! The card's validation rules. Each rule reports the field's JSON path and what to do.

use super::{CARD_SCHEMA, Card, FieldError};
use crate::Cid;
use std::collections::HashSet;

/// Most characters in a name.
pub const MAX_NAME_CHARS: usize = 200;
/// Most bytes in a description.
pub const MAX_DESCRIPTION_BYTES: usize = 256 * 1024;
/// Most tags on a card.
pub const MAX_TAGS: usize = 64;
/// Most characters in one tag.
pub const MAX_TAG_CHARS: usize = 64;
/// Most parents, as the marketplace contract allows (`MAX_PARENTS`).
pub const MAX_PARENTS: usize = 4;
/// Most files on one card.
pub const MAX_FILES: usize = 100_000;
/// Largest card a reader fetches (JSON of [`MAX_FILES`] files with their paths and hashes fits).
pub const MAX_CARD_BYTES: u64 = 32 << 20;
/// Basis points in a whole.
const BPS: u64 = 10_000;
/// Most characters in a short free-form field (task, framework, dataset and model names, metric names).
const MAX_SHORT_CHARS: usize = 200;
/// Most bytes in a file path.
const MAX_PATH_BYTES: usize = 1024;
/// Most entries in `datasets` and in `metrics`.
const MAX_LIST: usize = 256;

struct Report(Vec<FieldError>);

impl Report {
    fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            problem: problem.into(),
        });
    }

    /// A bounded, single-line, non-empty text field.
    fn short_text(&mut self, field: &str, value: &str, max: usize) {
        let chars = value.chars().count();
        if value.trim().is_empty() {
            self.add(field, "is empty; give it a value or leave the field out");
        } else if chars > max {
            self.add(
                field,
                format!("is {chars} characters long; shorten it to at most {max}"),
            );
        } else if value.chars().any(char::is_control) {
            self.add(
                field,
                "contains a control character (newline, tab, ...); use one line of plain text",
            );
        } else if value.trim() != value {
            self.add(
                field,
                format!("has leading or trailing spaces; use {:?}", value.trim()),
            );
        }
    }
}

pub(super) fn check(card: &Card) -> Vec<FieldError> {
    let mut r = Report(Vec::new());
    if card.schema != CARD_SCHEMA {
        r.add(
            "schema",
            format!(
                "is {}, but this version reads card schema {CARD_SCHEMA}; write {CARD_SCHEMA} or upgrade scal3ml",
                card.schema
            ),
        );
    }
    if card.name.trim().is_empty() {
        r.add(
            "name",
            "is empty; give the asset a name people will recognise",
        );
    } else {
        r.short_text("name", &card.name, MAX_NAME_CHARS);
    }
    if card.description.len() > MAX_DESCRIPTION_BYTES {
        r.add(
            "description",
            format!(
                "is {} bytes; shorten it to at most {MAX_DESCRIPTION_BYTES} bytes (put long documentation in a file of the asset)",
                card.description.len()
            ),
        );
    }
    if let Err(problem) = check_license(&card.license) {
        r.add("license", problem);
    }
    check_tags(&mut r, &card.tags);
    if let Some(task) = &card.task {
        r.short_text("task", task, MAX_SHORT_CHARS);
    }
    if let Some(framework) = &card.framework {
        r.short_text("framework", framework, MAX_SHORT_CHARS);
    }
    check_files(&mut r, card);
    check_parents(&mut r, card);
    if card.metrics.len() > MAX_LIST {
        r.add(
            "metrics",
            format!(
                "has {} entries; keep at most {MAX_LIST}",
                card.metrics.len()
            ),
        );
    }
    for (i, metric) in card.metrics.iter().enumerate() {
        r.short_text(&format!("metrics[{i}].name"), &metric.name, MAX_SHORT_CHARS);
        if !metric.value.is_finite() {
            r.add(
                format!("metrics[{i}].value"),
                "is not a finite number; give the measured value",
            );
        }
        if let Some(dataset) = &metric.dataset {
            r.short_text(&format!("metrics[{i}].dataset"), dataset, MAX_SHORT_CHARS);
        }
    }
    if card.datasets.len() > MAX_LIST {
        r.add(
            "datasets",
            format!(
                "has {} entries; keep at most {MAX_LIST}",
                card.datasets.len()
            ),
        );
    }
    for (i, dataset) in card.datasets.iter().enumerate() {
        r.short_text(&format!("datasets[{i}]"), dataset, MAX_SHORT_CHARS);
    }
    if let Some(base) = &card.base_model {
        r.short_text("base_model", base, MAX_SHORT_CHARS);
    }
    if let Some(created) = &card.created
        && let Err(problem) = check_rfc3339(created)
    {
        r.add(
            "created",
            format!("{problem}; write an RFC 3339 time such as 2026-11-25T14:20:00Z"),
        );
    }
    r.0
}

/// Checks a card license: an SPDX license id or expression (`MIT`, `MIT OR Apache-2.0`,
/// `GPL-2.0-or-later WITH Classpath-exception-2.0`), or the http(s) URI of a custom license.
/// The error says what was wrong and what to write instead.
pub fn check_license(license: &str) -> Result<(), String> {
    if license.trim().is_empty() {
        return Err("is empty; give an SPDX license id (MIT, Apache-2.0, CC-BY-4.0, ...) or the https:// URI of your license text".into());
    }
    if license.starts_with("http://") || license.starts_with("https://") {
        return check_uri(license);
    }
    match spdx::Expression::parse(license) {
        Ok(_) => Ok(()),
        Err(e) => {
            let suggestion = match spdx::Expression::canonicalize(license) {
                Ok(Some(fixed)) if spdx::Expression::parse(&fixed).is_ok() => Some(fixed),
                _ => loose_license_id(license),
            };
            let hint = match suggestion {
                Some(fixed) => format!("did you mean {fixed:?}?"),
                None => "use an id from https://spdx.org/licenses/ (case matters: MIT, Apache-2.0, CC-BY-SA-4.0) or the https:// URI of your license text".into(),
            };
            Err(format!(
                "{license:?} is not an SPDX license expression ({}); {hint}",
                e.reason
            ))
        }
    }
}

/// The SPDX id a loosely written one most likely means: case, spaces and punctuation ignored, and a missing
/// `.0` tolerated (`Apache 2` -> `Apache-2.0`, `cc by 4.0` -> `CC-BY-4.0`).
pub(super) fn loose_license_id(text: &str) -> Option<String> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = squash(text);
    if wanted.is_empty() {
        return None;
    }
    let with_zero = format!("{wanted}0");
    spdx::identifiers::LICENSES
        .iter()
        .filter(|l| l.flags & spdx::flags::IS_DEPRECATED == 0)
        .find(|l| {
            let id = squash(l.name);
            id == wanted || id == with_zero
        })
        .map(|l| l.name.to_string())
}

fn check_uri(uri: &str) -> Result<(), String> {
    let rest = uri
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(format!(
            "{uri:?} has no host; give the full URI of the license text (https://example.org/LICENSE)"
        ));
    }
    if uri.len() > 2048 {
        return Err(format!(
            "the license URI is {} bytes; use one of at most 2048",
            uri.len()
        ));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{uri:?} contains spaces or control characters; percent-encode them (%20)"
        ));
    }
    Ok(())
}

fn check_tags(r: &mut Report, tags: &[String]) {
    if tags.len() > MAX_TAGS {
        r.add(
            "tags",
            format!("has {} tags; keep at most {MAX_TAGS}", tags.len()),
        );
    }
    let mut seen = HashSet::new();
    for (i, tag) in tags.iter().enumerate() {
        r.short_text(&format!("tags[{i}]"), tag, MAX_TAG_CHARS);
        if !seen.insert(tag.as_str()) {
            r.add(
                format!("tags[{i}]"),
                format!("{tag:?} is listed twice; remove the repeat"),
            );
        }
    }
}

fn check_files(r: &mut Report, card: &Card) {
    if card.files.len() > MAX_FILES {
        r.add(
            "files",
            format!(
                "has {} entries; at most {MAX_FILES} files fit on one card",
                card.files.len()
            ),
        );
    }
    let mut seen = HashSet::new();
    for (i, file) in card.files.iter().enumerate() {
        let at = |f: &str| format!("files[{i}].{f}");
        if let Err(problem) = check_path(&file.path) {
            r.add(at("path"), problem);
        } else if !seen.insert(file.path.as_str()) {
            r.add(
                at("path"),
                format!("{:?} is listed twice; each file once", file.path),
            );
        }
        let hex_ok = file.sha256.len() == 64
            && file
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            let problem = if file.sha256.len() == 64
                && file.sha256.bytes().all(|b| b.is_ascii_hexdigit())
            {
                "has upper-case hex digits; write the SHA-256 in lower case".to_string()
            } else {
                format!(
                    "must be the SHA-256 of the file as 64 hex characters (got {} characters: {:?}); compute it with `sha256sum`",
                    file.sha256.chars().count(),
                    truncate(&file.sha256)
                )
            };
            r.add(at("sha256"), problem);
        }
        if let Err(e) = file.cid.parse::<Cid>() {
            r.add(
                at("cid"),
                format!("{e}; use the CID `scal3ml store add` printed for this file"),
            );
        }
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(
            "is empty; give the file's path inside the asset (model.onnx, data/train.csv)".into(),
        );
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(format!(
            "is {} bytes; use a path of at most {MAX_PATH_BYTES}",
            path.len()
        ));
    }
    if path.starts_with('/') {
        return Err(format!(
            "{path:?} is absolute; write it relative to the asset's root ({:?})",
            path.trim_start_matches('/')
        ));
    }
    if path.contains('\\') {
        return Err(format!(
            "{path:?} contains a backslash; separate folders with /"
        ));
    }
    if path.chars().any(char::is_control) {
        return Err(format!(
            "{path:?} contains a control character; rename the file"
        ));
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(format!(
            "{path:?} has an empty, `.` or `..` part; write a plain relative path (data/train.csv)"
        ));
    }
    Ok(())
}

fn check_parents(r: &mut Report, card: &Card) {
    if card.parents.len() > MAX_PARENTS {
        r.add(
            "parents",
            format!(
                "has {} parents; the marketplace contract allows at most {MAX_PARENTS}: keep the ones that matter most",
                card.parents.len()
            ),
        );
    }
    let mut seen = HashSet::new();
    for (i, parent) in card.parents.iter().enumerate() {
        if parent.asset.0 == 0 {
            r.add(
                format!("parents[{i}].asset"),
                "is 0; asset ids start at 1: give the parent's id as `scal3ml show` prints it",
            );
        } else if !seen.insert(parent.asset) {
            r.add(
                format!("parents[{i}].asset"),
                format!(
                    "asset {} is listed twice; list each parent once",
                    parent.asset
                ),
            );
        }
        if parent.royalty_bps == 0 || u64::from(parent.royalty_bps) > BPS {
            r.add(
                format!("parents[{i}].royalty_bps"),
                format!(
                    "is {}; a parent's royalty is 1 to 10000 basis points (100 = 1%)",
                    parent.royalty_bps
                ),
            );
        }
    }
    let total = card.royalty_total_bps();
    if total > BPS {
        r.add(
            "parents",
            format!("royalties add up to {total} basis points; together they may take at most 10000 (100%)"),
        );
    }
}

/// Checks `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` with real calendar ranges.
fn check_rfc3339(text: &str) -> Result<(), String> {
    let bad = |what: &str| Err(format!("{text:?} is not an RFC 3339 time: {what}"));
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return bad("the date must be YYYY-MM-DD");
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return bad("the date must be YYYY-MM-DD");
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return bad("a `T` must separate date and time");
    }
    let (Some(hour), Some(minute), Some(second)) = (digits(11..13), digits(14..16), digits(17..19))
    else {
        return bad("the time must be HH:MM:SS");
    };
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return bad("the time must be HH:MM:SS");
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return bad("the month must be 01 to 12"),
    };
    if day == 0 || day > days {
        return bad(&format!(
            "day {day} does not exist in month {month:02} of {year}"
        ));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return bad("hour, minute or second out of range");
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return bad("a `.` must be followed by digits");
        }
    }
    match &b[i.min(b.len())..] {
        [b'Z' | b'z'] => Ok(()),
        [b'+' | b'-', ..] => {
            let rest = &b[i..];
            let ok = rest.len() == 6
                && rest[3] == b':'
                && digits(i + 1..i + 3).is_some_and(|h| h <= 23)
                && digits(i + 4..i + 6).is_some_and(|m| m <= 59);
            if ok {
                Ok(())
            } else {
                bad("the offset must be Z or +HH:MM / -HH:MM")
            }
        }
        _ => bad("it must end in Z or an offset such as +01:00"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        AssetId, AssetKind,
        card::{CardFile, CardParent, Metric},
    };

    const CID: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";

    fn file(path: &str) -> CardFile {
        CardFile {
            path: path.into(),
            size: 11,
            sha256: "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9".into(),
            cid: CID.into(),
        }
    }

    fn valid() -> Card {
        let mut card = Card::new("Hello corpus", AssetKind::Dataset, "CC-BY-4.0");
        card.files = vec![file("a.txt"), file("data/b.txt")];
        card.tags = vec!["text".into()];
        card.created = Some("2026-11-25T14:20:00.123+01:00".into());
        card
    }

    fn fields_of(card: &Card) -> Vec<String> {
        match card.validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.fields().into_iter().map(String::from).collect(),
        }
    }

    #[test]
    fn a_complete_card_is_valid() {
        assert_eq!(valid().validate(), Ok(()));
    }

    #[test]
    fn licenses_spdx_ids_expressions_and_uris() {
        for ok in [
            "MIT",
            "Apache-2.0",
            "MIT OR Apache-2.0",
            "CC-BY-SA-4.0",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            "(MIT AND BSD-3-Clause) OR Apache-2.0",
            "https://example.org/licenses/model-license-v1.txt",
            "http://example.org/LICENSE",
        ] {
            assert_eq!(check_license(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("", "is empty"),
            ("mit", "did you mean \"MIT\""),
            ("apache2", "did you mean \"Apache-2.0\""),
            ("Apache 2", "did you mean \"Apache-2.0\""),
            ("cc by sa 4.0", "did you mean \"CC-BY-SA-4.0\""),
            ("Not-A-License-1.0", "spdx.org/licenses"),
            ("MIT OR", "not an SPDX license expression"),
            ("https://", "no host"),
            ("https://example.org/my license", "spaces"),
            ("ftp://example.org/LICENSE", "not an SPDX"),
        ] {
            let err = check_license(bad).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn each_bad_field_is_named_by_its_path() {
        let mut card = valid();
        card.files.push(file("c.txt"));
        card.files[2].sha256 = "abc".into();
        card.files[1].cid = "not-a-cid".into();
        card.files[0].path = "../escape".into();
        card.license = "Not-A-License-1.0".into();
        card.name = String::new();
        card.parents = vec![
            CardParent {
                asset: AssetId(3),
                royalty_bps: 0,
            },
            CardParent {
                asset: AssetId(3),
                royalty_bps: 20_000,
            },
        ];
        card.metrics = vec![Metric {
            name: "accuracy".into(),
            value: f64::NAN,
            dataset: None,
        }];
        card.created = Some("2026-02-30T00:00:00Z".into());
        card.tags = vec!["a".into(), "a".into(), "line\nbreak".into()];
        let fields = fields_of(&card);
        for expected in [
            "name",
            "license",
            "tags[1]",
            "tags[2]",
            "files[0].path",
            "files[1].cid",
            "files[2].sha256",
            "parents[0].royalty_bps",
            "parents[1].asset",
            "parents[1].royalty_bps",
            "parents",
            "metrics[0].value",
            "created",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} not in {fields:?}"
            );
        }
        let text = card.validate().unwrap_err().to_string();
        assert!(
            text.contains("files[2].sha256: must be the SHA-256"),
            "{text}"
        );
        assert!(
            text.contains("parents[0].royalty_bps: is 0; a parent's royalty is 1 to 10000"),
            "{text}"
        );
        assert!(
            text.contains("day 30 does not exist in month 02 of 2026"),
            "{text}"
        );
    }

    #[test]
    fn one_bad_field_reads_as_one_sentence() {
        let mut card = valid();
        card.files[1].sha256 = card.files[1].sha256.to_uppercase();
        let text = card.validate().unwrap_err().to_string();
        assert_eq!(
            text,
            "invalid card field files[1].sha256: has upper-case hex digits; write the SHA-256 in lower case"
        );
    }

    #[test]
    fn parents_follow_the_contract_bounds() {
        let mut card = valid();
        card.parents = (1..=4)
            .map(|id| CardParent {
                asset: AssetId(id),
                royalty_bps: 2_500,
            })
            .collect();
        assert_eq!(
            card.validate(),
            Ok(()),
            "4 parents summing to exactly 100% are allowed"
        );
        card.parents[3].royalty_bps = 2_501;
        assert_eq!(fields_of(&card), ["parents"]);
        card.parents[3].royalty_bps = 1;
        card.parents.push(CardParent {
            asset: AssetId(5),
            royalty_bps: 1,
        });
        assert_eq!(fields_of(&card), ["parents"]);
        assert!(
            card.validate()
                .unwrap_err()
                .to_string()
                .contains("at most 4")
        );
    }

    #[test]
    fn bounds_on_names_tags_and_paths() {
        let mut card = valid();
        card.name = "x".repeat(MAX_NAME_CHARS);
        assert_eq!(card.validate(), Ok(()));
        card.name.push('x');
        assert_eq!(fields_of(&card), ["name"]);
        card.name = "ok".into();
        card.tags = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert_eq!(fields_of(&card), ["tags"]);
        card.tags = vec!["y".repeat(MAX_TAG_CHARS + 1)];
        assert_eq!(fields_of(&card), ["tags[0]"]);
        card.tags.clear();
        for bad in ["/abs", "a//b", "a/./b", "a\\b", "", "dir/"] {
            card.files[0].path = bad.into();
            assert_eq!(fields_of(&card), ["files[0].path"], "{bad:?}");
        }
        card.files[0].path = "data/b.txt".into();
        assert_eq!(fields_of(&card), ["files[1].path"], "the repeat is named");
    }

    #[test]
    fn rfc3339_times() {
        for ok in [
            "2026-11-25T14:20:00Z",
            "2024-02-29T23:59:60Z",
            "2026-11-25t14:20:00.5-07:30",
            "2026-11-25 14:20:00+00:00",
        ] {
            assert_eq!(check_rfc3339(ok), Ok(()), "{ok}");
        }
        for bad in [
            "2026-11-25",
            "2026-11-25T14:20:00",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T14:20:00.Z",
            "2026-11-25T14:20:00+0100",
            "yesterday",
        ] {
            assert!(check_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
