//! Decimal amounts as people write them ("0.05") and as the contracts count them (base units), and the
//! payment tokens they are counted in.

use crate::{MarketError, MarketResult};
use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

/// A payment token as the SDK shows it: ETH (the zero address) or an ERC-20 with its symbol and decimals
/// (read from the chain by [`crate::Market::token_info`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Zero for ETH.
    pub address: Address,
    /// `ETH` or the token's `symbol()`.
    pub symbol: String,
    /// 18 for ETH, else the token's `decimals()`.
    pub decimals: u8,
}

impl TokenInfo {
    /// Ether.
    pub fn eth() -> Self {
        Self {
            address: Address::ZERO,
            symbol: "ETH".into(),
            decimals: 18,
        }
    }

    /// Whether this is ether.
    pub fn is_eth(&self) -> bool {
        self.address == Address::ZERO
    }

    /// Parses a decimal amount in this token's units.
    pub fn parse(&self, text: &str) -> MarketResult<U256> {
        parse_amount(text, self.decimals)
    }

    /// Formats base units in this token's units, without the symbol.
    pub fn format(&self, amount: U256) -> String {
        format_amount(amount, self.decimals)
    }
}

/// Parses how a user names a token: `ETH` (any case) or `0x` and 40 hex digits for an ERC-20.
pub fn parse_token(text: &str) -> MarketResult<Address> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("eth") {
        return Ok(Address::ZERO);
    }
    t.parse::<Address>().map_err(|_| MarketError::Token {
        token: text.to_string(),
        reason:
            "not ETH nor an address (0x and 40 hex digits); name an ERC-20 by its contract address"
                .into(),
    })
}

/// Parses a non-negative decimal number ("1", "0.05", ".5", "2.") into base units of a token with `decimals`
/// decimals. Refuses an empty string, signs, exponents, more than one point, more fractional digits than the
/// token has, and values above 2^256 - 1.
pub fn parse_amount(text: &str, decimals: u8) -> MarketResult<U256> {
    let fail = |reason: String| MarketError::Amount {
        input: text.to_string(),
        reason,
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(fail("is empty".into()));
    }
    if t.starts_with('-') {
        return Err(fail("is negative; amounts are 0 or more".into()));
    }
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    if frac.contains('.') {
        return Err(fail("has more than one decimal point".into()));
    }
    if whole.is_empty() && frac.is_empty() {
        return Err(fail("has no digits".into()));
    }
    if let Some(c) = whole
        .chars()
        .chain(frac.chars())
        .find(|c| !c.is_ascii_digit())
    {
        return Err(fail(format!("contains {c:?}, which is not a digit")));
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > usize::from(decimals) {
        return Err(fail(format!(
            "has {} decimal places but the token has only {decimals}",
            frac_trimmed.len()
        )));
    }
    let scale = U256::from(10u8).pow(U256::from(decimals));
    let too_big = || fail("is too large".into());
    let whole_value = if whole.is_empty() {
        U256::ZERO
    } else {
        U256::from_str_radix(whole, 10).map_err(|_| too_big())?
    };
    let mut frac_value = U256::ZERO;
    if !frac_trimmed.is_empty() {
        let digits = U256::from_str_radix(frac_trimmed, 10).map_err(|_| too_big())?;
        let pad = U256::from(10u8).pow(U256::from(usize::from(decimals) - frac_trimmed.len()));
        frac_value = digits * pad;
    }
    whole_value
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_value))
        .ok_or_else(too_big)
}

/// Formats base units as a decimal number with at most `decimals` fractional digits, trailing zeros dropped
/// ("0.05", "1", "0.000000000000000001").
pub fn format_amount(amount: U256, decimals: u8) -> String {
    let scale = U256::from(10u8).pow(U256::from(decimals));
    let whole = amount / scale;
    let frac = amount % scale;
    if frac.is_zero() {
        return whole.to_string();
    }
    let frac = format!(
        "{:0>width$}",
        frac.to_string(),
        width = usize::from(decimals)
    );
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(text: &str) -> MarketResult<U256> {
        parse_amount(text, 18)
    }

    #[test]
    fn parses_decimal_amounts_into_base_units() {
        assert_eq!(eth("1").unwrap(), U256::from(10u128.pow(18)));
        assert_eq!(eth("0.05").unwrap(), U256::from(5 * 10u128.pow(16)));
        assert_eq!(eth(".5").unwrap(), U256::from(5 * 10u128.pow(17)));
        assert_eq!(eth("2.").unwrap(), U256::from(2 * 10u128.pow(18)));
        assert_eq!(eth("0.000000000000000001").unwrap(), U256::from(1));
        assert_eq!(
            eth("1.500000000000000000000").unwrap(),
            U256::from(15 * 10u128.pow(17))
        );
        assert_eq!(parse_amount("12.34", 2).unwrap(), U256::from(1234));
        assert_eq!(parse_amount("7", 0).unwrap(), U256::from(7));
        assert_eq!(eth("0").unwrap(), U256::ZERO);
    }

    #[test]
    fn refuses_bad_amounts_with_the_reason() {
        for (input, says) in [
            ("0.0.1", "more than one decimal point"),
            ("-1", "negative"),
            ("", "empty"),
            ("   ", "empty"),
            (".", "no digits"),
            ("1e18", "not a digit"),
            (
                "0.0000000000000000001",
                "19 decimal places but the token has only 18",
            ),
            ("abc", "not a digit"),
        ] {
            let err = eth(input).unwrap_err().to_string();
            assert!(err.contains(says), "{input:?}: {err}");
        }
        assert!(
            parse_amount("1.5", 0)
                .unwrap_err()
                .to_string()
                .contains("only 0")
        );
        let huge = "1".repeat(80);
        assert!(eth(&huge).unwrap_err().to_string().contains("too large"));
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(format_amount(U256::from(5 * 10u128.pow(16)), 18), "0.05");
        assert_eq!(format_amount(U256::from(10u128.pow(18)), 18), "1");
        assert_eq!(format_amount(U256::from(1), 18), "0.000000000000000001");
        assert_eq!(format_amount(U256::from(1234), 2), "12.34");
        assert_eq!(format_amount(U256::ZERO, 6), "0");
        for v in [0u128, 1, 999, 10u128.pow(18) + 7, 123_456_789_000_000] {
            for d in [0u8, 6, 18] {
                let s = format_amount(U256::from(v), d);
                assert_eq!(
                    parse_amount(&s, d).unwrap(),
                    U256::from(v),
                    "{v} at {d}: {s}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_amount_survives_format_then_parse(limbs in proptest::array::uniform4(0u64..), decimals in 0u8..=36) {
            let v = U256::from_limbs(limbs);
            let text = format_amount(v, decimals);
            proptest::prop_assert_eq!(parse_amount(&text, decimals).unwrap(), v, "{}", text);
        }
    }

    #[test]
    fn tokens_parse_from_eth_or_an_address() {
        assert_eq!(parse_token("eth").unwrap(), Address::ZERO);
        assert_eq!(parse_token("ETH").unwrap(), Address::ZERO);
        let a = Address::repeat_byte(0xab);
        assert_eq!(parse_token(&a.to_string()).unwrap(), a);
        assert!(
            parse_token("usdc")
                .unwrap_err()
                .to_string()
                .contains("address")
        );
    }
}
