//! Arguments several commands share: who the command acts as, and JSON input.

use std::io::Read;

use anyhow::Context as _;
use bifrost_core::Identity;
use clap::Args;
use uuid::Uuid;

use crate::exit::Failure;

/// Who the command acts as. With no flag, or `--admin` alone: the operator, a platform
/// admin with no organisation (sees everything). `--user` alone: a regular user.
#[derive(Args)]
pub struct IdentityArgs {
    /// User id (UUID).
    #[arg(long)]
    user: Option<Uuid>,
    /// User display name.
    #[arg(long)]
    user_name: Option<String>,
    /// Organisation id (UUID).
    #[arg(long)]
    org: Option<Uuid>,
    /// Act as a platform admin.
    #[arg(long)]
    admin: bool,
}

impl IdentityArgs {
    /// The identity the flags name; `--org` alone is the caller's mistake.
    pub fn identity(&self) -> Result<Identity, Failure> {
        let operator = Identity::operator();
        if self.user.is_none() && !self.admin {
            if self.org.is_some() {
                return Err(Failure::caller(anyhow::anyhow!(
                    "--org needs --user (a regular user of that organisation) or --admin (its admin)"
                )));
            }
            if let Some(name) = &self.user_name {
                return Ok(Identity {
                    user_name: name.clone(),
                    ..operator
                });
            }
            return Ok(operator);
        }
        Ok(Identity {
            user_id: self.user.unwrap_or(operator.user_id),
            user_name: self.user_name.clone().unwrap_or_else(|| {
                self.user
                    .map_or(operator.user_name.clone(), |u| u.to_string())
            }),
            organization_id: self.org,
            is_platform_admin: self.admin,
        })
    }
}

/// The input of `run` or `offline`: JSON text, `@FILE`, or `-` for standard input. Every
/// failure is the caller's: a file that cannot be read, text that is not JSON.
pub fn read_input(arg: &str) -> Result<serde_json::Value, Failure> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("--input -: cannot read standard input")
            .map_err(Failure::caller)?;
        text
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path)
            .with_context(|| format!("--input: cannot read {path}"))
            .map_err(Failure::caller)?
    } else {
        arg.to_owned()
    };
    serde_json::from_str(&text)
        .context("--input is not JSON")
        .map_err(Failure::caller)
}

/// The workflow name `flag` gave, or else the component file's name without extension.
pub fn name_or_file_stem(
    name: Option<String>,
    component: &std::path::Path,
    flag: &str,
) -> Result<String, Failure> {
    match name {
        Some(n) => Ok(n),
        None => component
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                Failure::caller(anyhow::anyhow!(
                    "cannot name the workflow after its file; pass {flag}"
                ))
            }),
    }
}

/// Where compiled components are kept between processes.
#[derive(Args)]
pub struct CacheArgs {
    /// Directory of compiled components, so that a later process loads a component's
    /// machine code instead of compiling it again. Default: `BIFROST_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/bifrost/compiled`, else `~/.cache/bifrost/compiled`.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<std::path::PathBuf>,
    /// Most MiB the compiled components may take on disk; those used longest ago go first.
    #[arg(long, env = "BIFROST_CACHE_MAX_MB", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    cache_max_mb: u64,
    /// Compile every component, keeping nothing on disk.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl CacheArgs {
    /// The cache these flags configure; `None` with `--no-cache` or when no directory is
    /// known (no `HOME`), which costs only compilations.
    pub fn config(&self) -> Option<bifrost_runner::CompiledCacheConfig> {
        if self.no_cache {
            return None;
        }
        let dir = self
            .cache_dir
            .clone()
            .or_else(bifrost_runner::CompiledCacheConfig::default_dir)?;
        Some(bifrost_runner::CompiledCacheConfig {
            dir,
            max_bytes: self.cache_max_mb << 20,
        })
    }
}

/// A length of time as a number and a unit: `90d`, `12h`, `30m`, `45s` (1 to 100,000 of
/// them). The error says what is expected.
pub fn age(text: &str) -> Result<chrono::TimeDelta, &'static str> {
    const EXPECTED: &str = "a number and a unit (90d, 12h, 30m, 45s)";
    let t = text.trim();
    let (digits, unit) = t.split_at(t.len().saturating_sub(1));
    let n: i64 = digits.parse().map_err(|_| EXPECTED)?;
    if n <= 0 || n > 100_000 {
        return Err(EXPECTED);
    }
    match unit {
        "d" => Ok(chrono::TimeDelta::days(n)),
        "h" => Ok(chrono::TimeDelta::hours(n)),
        "m" => Ok(chrono::TimeDelta::minutes(n)),
        "s" => Ok(chrono::TimeDelta::seconds(n)),
        _ => Err(EXPECTED),
    }
}
