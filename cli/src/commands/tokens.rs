//! `bifrost-runner tokens create|list|revoke`: API tokens, made by whoever holds the
//! database (the bootstrap: the API cannot make a token with more than its caller's own
//! rights, so the first one comes from here). A token's secret is printed once, when it is
//! made; only its SHA-256 is kept.

use bifrost_api::tokens::{NewToken, audit, create};
use bifrost_core::Identity;
use bifrost_core::access::{AccessStore, Scopes};
use bifrost_core::error::StoreError;
use chrono::{TimeDelta, Utc};
use clap::{Args, Subcommand};
use uuid::Uuid;

use crate::exit::Failure;
use crate::output;

/// Make, list and revoke API tokens.
#[derive(Subcommand)]
pub enum TokensCommand {
    /// Make a token for a user and print it with its secret, which is shown this once.
    ///
    /// Example: bifrost-runner tokens create --user 6f1c...-... --user-name Ada --scope read,run --expires-in 90d
    Create(CreateArgs),
    /// List the tokens (never their secrets), newest first, one JSON object a line.
    List,
    /// Revoke a token: it stops working at its next request.
    ///
    /// Example: bifrost-runner tokens revoke 0193...-...
    Revoke(RevokeArgs),
}

/// `tokens create`.
#[derive(Args)]
pub struct CreateArgs {
    /// The user the token acts as (UUID).
    #[arg(long)]
    user: Uuid,
    /// The user's display name.
    #[arg(long)]
    user_name: String,
    /// The user's organisation (UUID).
    #[arg(long)]
    org: Option<Uuid>,
    /// The user is a platform admin.
    #[arg(long)]
    admin: bool,
    /// What it may do: read, run, deploy, admin (comma-separated or repeated; `admin`
    /// for a platform admin only).
    #[arg(long, value_delimiter = ',', default_value = "read")]
    scope: Vec<String>,
    /// How long it works: a number and a unit (`90d`, `12h`, `30m`), or `never`.
    #[arg(long, default_value = "90d")]
    expires_in: String,
    /// A label for people.
    #[arg(long, default_value = "")]
    name: String,
}

/// `tokens revoke`.
#[derive(Args)]
pub struct RevokeArgs {
    /// The token's id (as `tokens list` prints it).
    id: Uuid,
}

/// `90d`, `12h`, `30m`, `45s`, or `never` (`None`).
fn lifetime(text: &str) -> Result<Option<TimeDelta>, Failure> {
    if text.trim() == "never" {
        return Ok(None);
    }
    crate::args::age(text)
        .map(Some)
        .map_err(|e| Failure::caller(anyhow::anyhow!("--expires-in {text:?}: {e}, or never")))
}

/// Runs one `tokens` command.
pub async fn run(access: &dyn AccessStore, command: TokensCommand) -> Result<(), Failure> {
    match command {
        TokensCommand::Create(args) => {
            let scopes = Scopes::parse(args.scope.iter().map(String::as_str))
                .map_err(|e| Failure::caller(anyhow::anyhow!("--scope: {e}")))?;
            let expires_at = lifetime(&args.expires_in)?.map(|d| Utc::now() + d);
            let created = create(
                access,
                NewToken {
                    name: args.name,
                    identity: Identity {
                        user_id: args.user,
                        user_name: args.user_name,
                        organization_id: args.org,
                        is_platform_admin: args.admin,
                    },
                    scopes,
                    expires_at,
                },
                None,
            )
            .await
            .map_err(api_failure)?;
            output::json_line(&created)
        }
        TokensCommand::List => {
            for t in access.tokens().await.map_err(store)? {
                output::json_line(&t)?;
            }
            Ok(())
        }
        TokensCommand::Revoke(args) => {
            let token = access
                .revoke_token(args.id, Utc::now())
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => {
                        Failure::caller(anyhow::anyhow!("no token has the id {}", args.id))
                    }
                    other => store(other),
                })?;
            audit(
                access,
                &Identity::operator(),
                None,
                "token.revoke",
                token.id.to_string(),
                serde_json::json!({ "name": token.name }),
            )
            .await
            .map_err(store)?;
            output::json_line(&token)
        }
    }
}

/// The API's refusal as the command line's: the caller's fault for a 4xx.
fn api_failure(f: bifrost_api::error::Failure) -> Failure {
    let (status, _, message, _) = f.parts();
    if status.is_client_error() {
        Failure::caller(anyhow::anyhow!("{message}"))
    } else {
        Failure::infrastructure(anyhow::anyhow!("{message}"))
    }
}

fn store(e: StoreError) -> Failure {
    Failure::from(bifrost_core::ApiError::from(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_people_write_them() {
        assert_eq!(lifetime("90d").unwrap(), Some(TimeDelta::days(90)));
        assert_eq!(lifetime("12h").unwrap(), Some(TimeDelta::hours(12)));
        assert_eq!(lifetime("30m").unwrap(), Some(TimeDelta::minutes(30)));
        assert_eq!(lifetime("never").unwrap(), None);
        for bad in ["", "d", "0d", "-1d", "90", "90w", "1.5d", "999999d"] {
            assert!(lifetime(bad).is_err(), "{bad:?}");
        }
    }
}
