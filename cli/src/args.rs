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
