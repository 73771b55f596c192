//! The progress bars of long commands, on stderr (indicatif draws nothing when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` bytes, showing the file in progress as its message; hidden when `hidden` (`--json`,
/// `--no-progress`).
pub(crate) fn bytes(total: u64, hidden: bool) -> ProgressBar {
    bar(
        total,
        hidden,
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
}

/// A bar over `total` rows of a dataset.
pub(crate) fn rows(total: u64, hidden: bool) -> ProgressBar {
    bar(
        total,
        hidden,
        "{msg} [{bar:30}] {human_pos}/{human_len} rows, eta {eta}",
    )
}

fn bar(total: u64, hidden: bool, template: &str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}
