//! The one per-user data directory.

use std::path::PathBuf;

use crate::{AccountsError, AccountsResult};

/// The environment variable that overrides the default data directory.
pub const DATA_DIR_ENV: &str = "SCAL3ML_DATA_DIR";

/// The per-user data directory: `$SCAL3ML_DATA_DIR` if set, else the platform's data directory plus
/// `scal3ml` (`~/.local/share/scal3ml` on Linux).
pub fn default_data_dir() -> AccountsResult<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("scal3ml"))
        .ok_or(AccountsError::NoDataDir)
}
