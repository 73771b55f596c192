//! The rule that turns a re-run into an endorsement or a dispute: an attested value is a fixed-point integer
//! (`value` with `decimals`), the re-run's figure is rounded to the same decimals ([`to_fixed`]), and the two
//! agree when they differ by at most the verifier's tolerance. `scal3ml eval verify` and any other client apply
//! it through [`Claim`], so every verifier judges alike.

use crate::{EvalError, EvalResult, fixed_text, to_fixed};

/// Decimals of every value `scal3ml eval --attest` records: `0.966667` is 966667 with 6 decimals.
pub const ATTEST_DECIMALS: u8 = 6;

/// An attested value and the tolerance a verifier allows, checked before anything is re-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The attested value, fixed-point.
    pub value: i128,
    /// Its decimals.
    pub decimals: u8,
    /// The largest difference still endorsed, at the same decimals.
    pub tolerance: i128,
}

/// What a re-run says of a [`Claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The attested value, fixed-point.
    pub claimed: i128,
    /// The re-run's value at the claim's decimals.
    pub got: i128,
    /// The claim's decimals.
    pub decimals: u8,
    /// The tolerance applied, at those decimals.
    pub tolerance: i128,
    /// Whether the two agree within the tolerance: endorse if so, else dispute.
    pub agrees: bool,
}

impl Claim {
    /// The claim of an attestation recording `value` (decimal digits of an integer, as the chain holds it) with
    /// `decimals`, judged with `tolerance` (a decimal number in the metric's units, e.g. `0.000002`; `0` asks
    /// for the same value at those decimals).
    pub fn parse(value: &str, decimals: u8, tolerance: &str) -> EvalResult<Self> {
        let value: i128 = value.parse().map_err(|_| {
            EvalError::Claim(format!(
                "the attested value {value:?} is beyond what can be compared here"
            ))
        })?;
        if decimals > 18 {
            return Err(EvalError::Claim(format!(
                "the attestation has {decimals} decimals; values with more than 18 cannot be compared here"
            )));
        }
        let t: f64 = tolerance
            .trim()
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| {
                EvalError::Claim(format!(
                    "the tolerance {tolerance:?} is not a number >= 0 (e.g. 0.000002)"
                ))
            })?;
        let tolerance = to_fixed(t, decimals)
            .ok_or_else(|| EvalError::Claim(format!("the tolerance {tolerance} is too large")))?;
        Ok(Self {
            value,
            decimals,
            tolerance,
        })
    }

    /// Judges the re-run's figure `got` (named `metric` in errors).
    pub fn judge(&self, metric: &str, got: f64) -> EvalResult<Verdict> {
        let fixed = to_fixed(got, self.decimals).ok_or_else(|| {
            EvalError::Claim(format!(
                "{metric} = {got} cannot be compared as a fixed-point number"
            ))
        })?;
        Ok(Verdict {
            claimed: self.value,
            got: fixed,
            decimals: self.decimals,
            tolerance: self.tolerance,
            agrees: (fixed - self.value).abs() <= self.tolerance,
        })
    }

    /// The attested value as a decimal string.
    pub fn text(&self) -> String {
        fixed_text(self.value, self.decimals)
    }
}

impl Verdict {
    /// What a verifier sends: `endorse` or `dispute`.
    pub fn action(&self) -> &'static str {
        if self.agrees { "endorse" } else { "dispute" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_at_the_claims_decimals_is_endorsed_and_a_tolerance_widens_it() {
        let exact = Claim::parse("966667", 6, "0").unwrap();
        assert!(exact.judge("accuracy", 0.9666666666666667).unwrap().agrees);
        let off = exact.judge("accuracy", 0.966669).unwrap();
        assert_eq!(
            (off.got, off.agrees, off.action()),
            (966_669, false, "dispute")
        );
        let loose = Claim::parse("966667", 6, "0.000002").unwrap();
        assert_eq!(loose.tolerance, 2);
        assert_eq!(
            loose.judge("accuracy", 0.966669).unwrap().action(),
            "endorse"
        );
        assert_eq!(
            loose.judge("accuracy", 0.96667).unwrap().action(),
            "dispute"
        );
        assert_eq!(exact.text(), "0.966667");
    }

    #[test]
    fn what_cannot_be_compared_is_refused_with_why() {
        for (value, decimals, tolerance, says) in [
            ("1e40", 6, "0", "beyond"),
            ("1", 19, "0", "more than 18"),
            ("1", 6, "-1", "not a number >= 0"),
            ("1", 6, "NaN", "not a number >= 0"),
            ("1", 6, "1e40", "too large"),
        ] {
            let err = Claim::parse(value, decimals, tolerance)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{value} {decimals} {tolerance}: {err}");
        }
        let claim = Claim::parse("1", 6, "0").unwrap();
        let err = claim.judge("rmse", f64::NAN).unwrap_err().to_string();
        assert!(err.contains("rmse = NaN"), "{err}");
    }
}
