//! How the pages write numbers people read: token amounts with their symbol, file sizes, addresses, durations,
//! dates and percentages. Pure functions, so the templates only print strings.

use alloy::primitives::{Address, U256};
use scal3ml_api::NetworkInfo;

/// Symbol and decimals of a payment token: ETH for the zero address, a network token by its address, else the
/// shortened address with 18 decimals (a token the node does not list).
pub(crate) fn token(network: &NetworkInfo, token: Address) -> (String, u8) {
    if token == Address::ZERO {
        return ("ETH".into(), 18);
    }
    network
        .tokens
        .iter()
        .find(|t| t.address == token)
        .map_or_else(
            || (short_address(token), 18),
            |t| (t.symbol.clone(), t.decimals),
        )
}

/// `amount` of `token` with its symbol: "0.05 ETH", "25.5 USDX", "free" for zero.
pub(crate) fn price(network: &NetworkInfo, token: Address, amount: U256) -> String {
    if amount.is_zero() {
        return "free".into();
    }
    money(network, token, amount)
}

/// `amount` of `token` with its symbol, zero as "0 ETH".
pub(crate) fn money(network: &NetworkInfo, token: Address, amount: U256) -> String {
    let (symbol, decimals) = self::token(network, token);
    format!("{} {symbol}", amount_text(amount, decimals))
}

/// Base units as a decimal number, exact (no rounding: a price is shown to the last unit the buyer pays), with
/// thousands grouped in the whole part.
pub(crate) fn amount_text(amount: U256, decimals: u8) -> String {
    let plain = scal3ml_market::format_amount(amount, decimals);
    let (whole, frac) = match plain.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (plain.as_str(), None),
    };
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{grouped}.{f}"),
        None => grouped,
    }
}

/// A byte count in binary units with one decimal: "512 B", "1.5 KiB", "683.6 KiB", "2.0 GiB".
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // Round first, so 1023.96 KiB reads "1.0 MiB" and not "1024.0 KiB".
    while (value * 10.0).round() / 10.0 >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `0x1234…abcd`: enough to tell accounts apart at a glance; the full address goes in a `title`.
pub(crate) fn short_address(address: Address) -> String {
    let full = address.to_checksum(None);
    format!("{}…{}", &full[..6], &full[full.len() - 4..])
}

/// A license duration: "perpetual" for 0, else the largest whole units, at most two: "30 days",
/// "1 year 2 days", "1 hour 30 minutes", "45 seconds".
pub(crate) fn duration(seconds: u64) -> String {
    if seconds == 0 {
        return "perpetual".into();
    }
    const UNITS: [(u64, &str); 5] = [
        (365 * 86_400, "year"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut left = seconds;
    let mut parts = Vec::new();
    for (size, name) in UNITS {
        if parts.len() == 2 {
            break;
        }
        let n = left / size;
        if n > 0 {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            left -= n * size;
        } else if !parts.is_empty() {
            // "1 year 3 hours" would skip the days: stop at the first gap instead.
            break;
        }
    }
    parts.join(" ")
}

/// A unix time as a UTC date and time: "2026-11-25 14:20 UTC".
pub(crate) fn time(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3_600,
        secs % 3_600 / 60
    )
}

/// A unix time as an ISO 8601 instant for `<time datetime>`.
pub(crate) fn iso_time(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `part` of `whole` as a percentage with at most two decimals, rounded half up: "30%", "33.33%", "0.01%";
/// "0%" when the whole is zero.
pub(crate) fn percent(part: U256, whole: U256) -> String {
    if whole.is_zero() {
        return "0%".into();
    }
    // Hundredths of a percent, rounded half up: (2x + 1) / 2 of twice the quotient.
    let hundredths = (part * U256::from(20_000u64) / whole + U256::from(1u64)) / U256::from(2u64);
    let text = scal3ml_market::format_amount(hundredths, 2);
    format!("{text}%")
}

/// Basis points as a percentage: 1000 -> "10%", 250 -> "2.5%".
pub(crate) fn bps(bps: u16) -> String {
    format!("{}%", scal3ml_market::format_amount(U256::from(bps), 2))
}

/// An attestation's value (a decimal integer with `decimals` implied decimals) as a number.
pub(crate) fn scaled(value: &str, decimals: u8) -> String {
    match value.parse::<U256>() {
        Ok(v) => scal3ml_market::format_amount(v, decimals),
        Err(_) => value.to_string(),
    }
}

/// `n` things: "1 ancestor", "3 ancestors" (`noun` takes an s).
pub(crate) fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Percent-encodes a query-string value (`application/x-www-form-urlencoded`).
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encodes a path inside an asset for a URL, keeping its `/` separators.
pub(crate) fn path_encode(path: &str) -> String {
    path.split('/')
        .map(|seg| url_encode(seg).replace('+', "%20"))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_to_one_decimal_in_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(700_000), "683.6 KiB");
        assert_eq!(size(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(size(5 << 30), "5.0 GiB");
        assert_eq!(size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn amounts_are_exact_with_grouped_thousands() {
        let wei = U256::from(50_000_000_000_000_123u64);
        assert_eq!(amount_text(wei, 18), "0.050000000000000123");
        assert_eq!(
            amount_text(
                U256::from(1_234_567u64) * U256::from(10u64).pow(U256::from(18)),
                18
            ),
            "1,234,567"
        );
        assert_eq!(amount_text(U256::from(1_500_000u64), 6), "1.5");
        assert_eq!(amount_text(U256::from(123u64), 0), "123");
        assert_eq!(amount_text(U256::ZERO, 18), "0");
    }

    #[test]
    fn prices_name_their_token() {
        let network = NetworkInfo {
            name: "dev".into(),
            chain_id: 31337,
            rpc_url: String::new(),
            explorer: None,
            eip1559: true,
            marketplace: Address::ZERO,
            attestations: Address::ZERO,
            start_block: 0,
            tokens: vec![scal3ml_api::TokenInfo {
                symbol: "USDX".into(),
                address: Address::repeat_byte(7),
                decimals: 6,
            }],
            node_url: String::new(),
        };
        assert_eq!(price(&network, Address::ZERO, U256::ZERO), "free");
        assert_eq!(
            price(
                &network,
                Address::ZERO,
                U256::from(10u64).pow(U256::from(17))
            ),
            "0.1 ETH"
        );
        assert_eq!(
            price(&network, Address::repeat_byte(7), U256::from(25_500_000u64)),
            "25.5 USDX"
        );
        assert_eq!(
            money(&network, Address::repeat_byte(9), U256::from(1u64)),
            "0.000000000000000001 0x0909…0909"
        );
    }

    #[test]
    fn durations_use_at_most_two_units() {
        assert_eq!(duration(0), "perpetual");
        assert_eq!(duration(45), "45 seconds");
        assert_eq!(duration(5_400), "1 hour 30 minutes");
        assert_eq!(duration(30 * 86_400), "30 days");
        assert_eq!(duration(86_400 + 1), "1 day");
        assert_eq!(duration(366 * 86_400), "1 year 1 day");
        assert_eq!(duration(365 * 86_400 + 3_600), "1 year");
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(time(0), "1970-01-01 00:00 UTC");
        assert_eq!(time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(time(1_795_616_400), "2026-11-25 14:20 UTC");
        assert_eq!(iso_time(1_795_616_400), "2026-11-25T14:20:00Z");
    }

    #[test]
    fn percentages_round_half_up_to_two_decimals() {
        let p = |a: u64, b: u64| percent(U256::from(a), U256::from(b));
        assert_eq!(p(3_000, 10_000), "30%");
        assert_eq!(p(1, 3), "33.33%");
        assert_eq!(p(2, 3), "66.67%");
        assert_eq!(p(1, 20_000), "0.01%");
        assert_eq!(p(1, 40_001), "0%");
        assert_eq!(p(5, 0), "0%");
        assert_eq!(bps(1_000), "10%");
        assert_eq!(bps(250), "2.5%");
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(count(1u64, "ancestor"), "1 ancestor");
        assert_eq!(count(0u64, "proposal"), "0 proposals");
    }

    #[test]
    fn urls_are_percent_encoded() {
        assert_eq!(url_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            path_encode("weights/my model.bin"),
            "weights/my%20model.bin"
        );
    }

    #[test]
    fn short_addresses_keep_both_ends() {
        let a: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
            .parse()
            .unwrap();
        assert_eq!(short_address(a), "0x7099…79C8");
    }
}
