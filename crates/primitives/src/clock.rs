//! The one wall clock: Unix time as the chain, signed documents and the catalog record it. A clock before
//! 1970 reads 0.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_agree() {
        let secs = now_secs();
        let millis = now_millis();
        assert!(secs > 1_700_000_000, "{secs}");
        assert!(
            millis / 1000 >= secs && millis / 1000 - secs <= 1,
            "{secs} {millis}"
        );
    }
}
