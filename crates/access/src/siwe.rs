//! Sign-In with Ethereum (EIP-4361): parsing the message text and checking it against what this gateway
//! expects. The signature is EIP-191 (`personal_sign`) over the exact message text.

use alloy_primitives::Address;
use chrono::{DateTime, Utc};

/// The fields of an EIP-4361 message this gateway reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    /// The host asking for the sign-in (`domain` in the spec), e.g. `127.0.0.1:8080`.
    pub domain: String,
    /// The account signing in.
    pub address: Address,
    /// The optional human-readable statement.
    pub statement: Option<String>,
    /// The resource the session is for.
    pub uri: String,
    /// Always `1`.
    pub version: String,
    /// The chain the account is on.
    pub chain_id: u64,
    /// The server's nonce.
    pub nonce: String,
    /// When the message was made.
    pub issued_at: DateTime<Utc>,
    /// When the sign-in stops being valid.
    pub expiration_time: Option<DateTime<Utc>>,
    /// Before when it is not valid yet.
    pub not_before: Option<DateTime<Utc>>,
}

const PREAMBLE: &str = " wants you to sign in with your Ethereum account:";

/// Parses the message text. Errors name the line or field that is wrong.
pub fn parse(text: &str) -> Result<SiweMessage, String> {
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let domain = first
        .strip_suffix(PREAMBLE)
        .ok_or_else(|| format!("the first line must be \"<domain>{PREAMBLE}\""))?;
    // An optional scheme ("https://host") is allowed by the spec; the domain is what follows it.
    let domain = domain.split_once("://").map_or(domain, |(_, d)| d);
    if domain.is_empty() {
        return Err("the domain is empty".into());
    }
    let address_line = lines
        .next()
        .ok_or("the second line must be the Ethereum address")?;
    let address: Address = address_line
        .parse()
        .map_err(|_| format!("{address_line:?} is not an Ethereum address"))?;
    if lines.next() != Some("") {
        return Err("an empty line must follow the address".into());
    }
    let mut rest: Vec<&str> = lines.collect();
    // Statement: everything before the (blank line and) "URI: " line.
    let uri_at = rest
        .iter()
        .position(|l| l.starts_with("URI: "))
        .ok_or("the message has no \"URI: \" line")?;
    let statement = rest[..uri_at]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let statement = (!statement.is_empty()).then_some(statement);
    rest.drain(..uri_at);

    let mut fields = std::collections::HashMap::new();
    for line in rest {
        if line.is_empty() || line == "Resources:" || line.starts_with("- ") {
            continue;
        }
        let (k, v) = line
            .split_once(": ")
            .ok_or_else(|| format!("line {line:?} is not \"Field: value\""))?;
        if fields.insert(k, v).is_some() {
            return Err(format!("field {k:?} appears twice"));
        }
    }
    let need = |k: &str| {
        fields
            .get(k)
            .map(|v| v.to_string())
            .ok_or_else(|| format!("the message has no \"{k}: \" line"))
    };
    let time = |k: &str| -> Result<Option<DateTime<Utc>>, String> {
        fields
            .get(k)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| format!("{k} {v:?} is not an RFC 3339 time ({e})"))
            })
            .transpose()
    };
    let version = need("Version")?;
    if version != "1" {
        return Err(format!("Version must be 1 (got {version})"));
    }
    let chain_id = need("Chain ID")?;
    let nonce = need("Nonce")?;
    if nonce.len() < 8 || !nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "Nonce {nonce:?} must be at least 8 letters or digits"
        ));
    }
    Ok(SiweMessage {
        domain: domain.to_owned(),
        address,
        statement,
        uri: need("URI")?,
        version,
        chain_id: chain_id
            .parse()
            .map_err(|_| format!("Chain ID {chain_id:?} is not a number"))?,
        nonce,
        issued_at: time("Issued At")?.ok_or("the message has no \"Issued At: \" line")?,
        expiration_time: time("Expiration Time")?,
        not_before: time("Not Before")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example_shape_with_and_without_statement() {
        let text = "example.com wants you to sign in with your Ethereum account:\n\
            0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\n\
            I accept the Terms\n\n\
            URI: https://example.com/login\nVersion: 1\nChain ID: 31337\nNonce: 32891756abc\n\
            Issued At: 2026-11-25T14:00:00Z\nExpiration Time: 2026-11-25T15:00:00.000Z\n\
            Resources:\n- ipfs://bafy\n- https://example.com/x";
        let m = parse(text).unwrap();
        assert_eq!(m.domain, "example.com");
        assert_eq!(m.statement.as_deref(), Some("I accept the Terms"));
        assert_eq!(m.uri, "https://example.com/login");
        assert_eq!(m.chain_id, 31337);
        assert_eq!(m.nonce, "32891756abc");
        assert!(m.expiration_time.unwrap() > m.issued_at);

        let bare = "https://example.com wants you to sign in with your Ethereum account:\n\
            0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\n\n\
            URI: https://example.com\nVersion: 1\nChain ID: 1\nNonce: abcdefgh\nIssued At: 2026-11-25T14:00:00Z";
        let m = parse(bare).unwrap();
        assert_eq!((m.domain.as_str(), m.statement), ("example.com", None));

        assert!(parse(&bare.replace("Version: 1", "Version: 2")).is_err());
        assert!(parse(&bare.replace("Nonce: abcdefgh", "Nonce: abc")).is_err());
        assert!(parse(&bare.replace("URI: ", "Uri: ")).is_err());
    }
}
