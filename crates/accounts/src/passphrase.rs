//! Passphrases from a file or a hidden prompt.

use std::{fs, path::Path};

use crate::{AccountsError, AccountsResult};

/// Reads a passphrase from the first line of a file (a trailing newline is not part of it).
pub fn read_passphrase_file(path: &Path) -> AccountsResult<String> {
    let text = fs::read_to_string(path).map_err(|source| AccountsError::PassphraseFile {
        path: path.to_path_buf(),
        source,
    })?;
    let line = text.split('\n').next().unwrap_or_default();
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

/// Asks for a passphrase on the terminal without echo; with `confirm`, asks twice and compares.
pub fn prompt_passphrase(prompt: &str, confirm: bool) -> AccountsResult<String> {
    let no_tty = |error: std::io::Error| AccountsError::NoTerminal { error };
    let first = rpassword::prompt_password(prompt).map_err(no_tty)?;
    if confirm {
        let again = rpassword::prompt_password("Repeat the passphrase: ").map_err(no_tty)?;
        if again != first {
            return Err(AccountsError::PassphrasesDiffer);
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_files_lose_only_the_line_ending() {
        let dir = tempfile::tempdir().unwrap();
        for (content, expected) in [
            ("a b \n", "a b "),
            ("x\r\n", "x"),
            ("y", "y"),
            ("z\nsecond", "z"),
        ] {
            let path = dir.path().join("p");
            fs::write(&path, content).unwrap();
            assert_eq!(read_passphrase_file(&path).unwrap(), expected);
        }
        let err = format!(
            "{:#}",
            read_passphrase_file(&dir.path().join("missing")).unwrap_err()
        );
        assert!(err.contains("cannot read the passphrase file"), "{err}");
    }
}
