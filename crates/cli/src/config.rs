//! Configuration layers, weakest first: built-in defaults, a TOML file, `SCAL3ML_*` environment variables,
//! then flags. The file's keys are the long flag names (`data_dir = "/srv/scal3ml"`, `port = 8080`,
//! `network = "sepolia"`); each becomes the environment variable `SCAL3ML_<KEY>` unless that is already set,
//! so one mechanism (clap's `env`) serves both layers and flags still win.
//!
//! The file is `--config FILE`, else `$SCAL3ML_CONFIG`, else `<user config dir>/scal3ml/config.toml` if it
//! exists.

use anyhow::Context as _;
use std::path::PathBuf;

/// Reads the config file (if any) into the environment. Call before parsing flags and before any thread
/// starts.
pub fn load(args: &[String]) -> anyhow::Result<Option<PathBuf>> {
    let explicit = flag_value(args, "--config")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("SCAL3ML_CONFIG").map(PathBuf::from));
    let path = match explicit {
        Some(path) => path,
        None => match dirs::config_dir().map(|d| d.join("scal3ml").join("config.toml")) {
            Some(path) if path.exists() => path,
            _ => return Ok(None),
        },
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    for (key, value) in
        parse(&text).with_context(|| format!("in the config file {}", path.display()))?
    {
        if std::env::var_os(&key).is_none() {
            // SAFETY: called from `main` before the runtime or any other thread starts.
            unsafe { std::env::set_var(&key, value) };
        }
    }
    Ok(Some(path))
}

/// The file's keys as environment variable names and values.
fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let mut out = Vec::new();
    for (key, value) in table {
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => anyhow::bail!(
                "`{key}` is a {}; keys take a string, number or boolean, like the flag --{}",
                other.type_str(),
                key.replace('_', "-")
            ),
        };
        let name = format!("SCAL3ML_{}", key.to_ascii_uppercase().replace('-', "_"));
        out.push((name, value));
    }
    Ok(out)
}

/// The value of `--name VALUE` or `--name=VALUE` in `args`.
fn flag_value(args: &[String], name: &str) -> Option<String> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == name {
            return iter.next().cloned();
        }
        if let Some(v) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_environment_names() {
        let vars =
            parse("data_dir = \"/srv/x\"\nport = 9000\nrpc-url = \"http://h:1\"\nfresh = true\n")
                .unwrap();
        assert_eq!(
            vars,
            vec![
                ("SCAL3ML_DATA_DIR".into(), "/srv/x".into()),
                ("SCAL3ML_FRESH".into(), "true".into()),
                ("SCAL3ML_PORT".into(), "9000".into()),
                ("SCAL3ML_RPC_URL".into(), "http://h:1".into()),
            ]
        );
    }

    #[test]
    fn tables_and_bad_toml_are_refused_with_the_key() {
        let err = parse("[node]\nport = 1\n").unwrap_err().to_string();
        assert!(err.contains("`node` is a table"), "{err}");
        assert!(
            parse("port = ")
                .unwrap_err()
                .to_string()
                .contains("not valid TOML")
        );
    }

    #[test]
    fn the_config_flag_is_found_in_both_forms() {
        let args: Vec<String> = ["scal3ml", "--config", "a.toml", "dev"]
            .map(String::from)
            .to_vec();
        assert_eq!(flag_value(&args, "--config").as_deref(), Some("a.toml"));
        let args: Vec<String> = ["scal3ml", "--config=b.toml"].map(String::from).to_vec();
        assert_eq!(flag_value(&args, "--config").as_deref(), Some("b.toml"));
    }
}
