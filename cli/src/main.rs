//! `bifrost-runner`: runs workflow components as executions and queries them.
//!
//! Commands, one module each in `commands/`: `run`, `executions list|get|logs`,
//! `executions submit|cancel`, `serve`, `workflows deploy|list|remove`, `sweep`,
//! `wit-package`, `offline`; `logs` is kept as another spelling of `executions logs`.
//! Output: JSON lines on stdout ([`output`]). Exit codes: 0 success, 1 the execution
//! ended other than `Success`, 2 the caller's mistake, 3 the infrastructure failed
//! ([`exit`]); every failure is one line on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bifrost_runner::backends::BackendConfig;

mod args;
mod commands;
mod exit;
mod human;
mod output;

use commands::executions::{ExecutionsCommand, LogsArgs};
use commands::offline::OfflineArgs;
use commands::run::RunArgs;
use commands::sweep::SweepArgs;
use commands::wit_package::WitPackageArgs;
use commands::workflows::WorkflowsCommand;
use exit::Failure;
use output::View;

/// Run workflow components and query their executions and logs.
///
/// Backends: `DATABASE_URL` (PostgreSQL, or a `sqlite:` URL) and `REDIS_URL` (Redis). With
/// neither set, everything runs on this machine: one SQLite file in the data directory holds
/// the executions and the live log streams, shared by every process that opens it.
/// Migrations are applied on start.
///
/// Output is JSON lines: every line one JSON document; `executions list|get|logs` print a
/// table, a summary and log lines on a terminal (`--output` chooses). Exit codes: 0 success; 1 the
/// execution ended other than `Success`; 2 the caller's mistake (flags, arguments, an
/// execution not found or not visible); 3 the infrastructure failed (a backend unreachable).
#[derive(Parser)]
#[command(name = "bifrost-runner", version)]
struct Cli {
    /// Execution store: a postgres:// or sqlite: URL; unset, a SQLite file in the data
    /// directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// Live log streams: a redis:// URL; unset, streams in the SQLite store's file (with a
    /// PostgreSQL store: in this process, seen by others once a run has ended).
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    redis_url: Option<String>,
    /// Directory of the default SQLite file (default $XDG_DATA_HOME/bifrost or
    /// ~/.local/share/bifrost).
    #[arg(long, env = "BIFROST_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Connections this process opens to a PostgreSQL store (a quarter of them, at least
    /// one, for `list`); `serve` opens one more to wait for submissions. Keep processes x
    /// (this + 1) under the server's `max_connections`.
    #[arg(long, env = "BIFROST_DB_CONNECTIONS", global = true, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    db_connections: Option<u32>,
    /// What DATABASE_URL points at: `none` (the server, or a pooler in session mode) or
    /// `transaction` (PgBouncer or another pooler in transaction mode: no statement is kept
    /// prepared, each runs in a transaction of its own).
    #[arg(long, env = "BIFROST_DB_POOLER", global = true, default_value = "none", value_parser = ["none", "transaction"])]
    db_pooler: String,
    /// With `--db-pooler transaction`: a URL of the PostgreSQL server itself, for the
    /// migrations and `serve`'s LISTEN (one connection). Without it, `serve` polls for
    /// submissions and the database must have its migrations already.
    #[arg(
        long,
        env = "BIFROST_DB_DIRECT_URL",
        hide_env_values = true,
        global = true
    )]
    db_direct_url: Option<String>,
    /// Key prefix of log streams.
    #[arg(long, env = "BIFROST_LOG_PREFIX", default_value = bifrost_redis::DEFAULT_KEY_PREFIX, global = true)]
    log_prefix: String,
    /// How `executions list|get|logs` print: `human` (a table, a summary, log lines; the
    /// default on a terminal), `json` (one document), `jsonl` (one document a line; the
    /// default when stdout is no terminal).
    #[arg(long, value_enum, global = true)]
    output: Option<human::OutputFormat>,
    /// Show times for a person in the machine's local time, not UTC.
    #[arg(long, global = true)]
    local_time: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workflow component as a new execution and print the finished execution.
    ///
    /// Example: bifrost-runner run hello.wasm --input '{"name": "Ada"}' --follow
    Run(RunArgs),
    /// Query executions: list, get, logs.
    #[command(subcommand)]
    Executions(ExecutionsCommand),
    /// Run submitted executions of deployed workflows until SIGTERM or SIGINT, sharing the
    /// queue with every other `serve` on the same store.
    ///
    /// Example: DATABASE_URL=postgres://db/bifrost REDIS_URL=redis://cache bifrost-runner serve --concurrency 32
    Serve(commands::serve::ServeArgs),
    /// Deploy workflows by name: deploy, list, remove.
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
    /// Make, list and revoke the HTTP API's tokens.
    #[command(subcommand)]
    Tokens(commands::tokens::TokensCommand),
    /// Another spelling of `executions logs`.
    #[command(hide = true)]
    Logs(LogsArgs),
    /// Mark `Stuck` the executions whose runner stopped, move their logs to the store, and
    /// print their ids.
    ///
    /// Example: bifrost-runner sweep --lease-secs 60
    Sweep(SweepArgs),
    /// Write the `bifrost:executions` WIT package for component tooling; print its path.
    ///
    /// Example: bifrost-runner wit-package --out-dir wit-deps
    WitPackage(WitPackageArgs),
    /// Run a workflow composed with the virtual provider, answered from a JSON fixture.
    ///
    /// Example: bifrost-runner offline report.offline.wasm --fixture fixture.json
    Offline(OfflineArgs),
    /// Compile one component for a `serve` process (its `--compile-in process`): the
    /// request on stdin, the compiled component on stdout.
    #[command(hide = true)]
    CompileWorker,
}

/// One line: the newlines some messages carry (a parser's dump of bytes, a database's
/// detail) become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A usage error in one line: clap's message without its usage block and hint.
fn usage_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let head = ["\n\nUsage:", "\n\nFor more information"]
        .iter()
        .filter_map(|cut| text.find(cut))
        .min()
        .map_or(text, |at| &text[..at]);
    one_line(head)
}

/// Log output for the runner's own messages (`BIFROST_LOG`): one line per event, its
/// fields' newlines (a slow statement's SQL, say) turned into spaces, and colours only
/// on a terminal.
fn init_logging() {
    use tracing_subscriber::field::MakeExt as _;
    let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = one_line(&format!("{value:?}"));
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{field}={text}")
        }
    })
    .delimited(" ");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BIFROST_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(fields)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            eprintln!("bifrost-runner: {}", usage_error(&e));
            return ExitCode::from(exit::CALLER);
        }
    };
    match run(cli).await {
        Ok(code) => code,
        Err(failure) => {
            eprintln!(
                "bifrost-runner: {}",
                one_line(&format!("{:#}", failure.error))
            );
            failure.exit_code()
        }
    }
}

impl Cli {
    fn backends(&self) -> BackendConfig {
        BackendConfig {
            database_url: self.database_url.clone().filter(|u| !u.is_empty()),
            redis_url: self.redis_url.clone().filter(|u| !u.is_empty()),
            log_prefix: Some(self.log_prefix.clone()),
            data_dir: self.data_dir.clone(),
            db_connections: self.db_connections,
            db_pooler: self.db_pooler.parse().unwrap_or_default(),
            db_direct_url: self.db_direct_url.clone().filter(|u| !u.is_empty()),
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let backends = cli.backends();
    let view = View {
        format: human::OutputFormat::resolve(cli.output),
        zone: if cli.local_time {
            human::Zone::Local
        } else {
            human::Zone::Utc
        },
    };
    match cli.command {
        // The commands that need no backend.
        Command::WitPackage(args) => commands::wit_package::run(&args)?,
        Command::CompileWorker => {
            // Off the runtime: a compile is seconds of CPU on threads of its own.
            let compiled =
                tokio::task::spawn_blocking(bifrost_runner::compile_process::serve_stdio)
                    .await
                    .map_err(|e| {
                        Failure::infrastructure(anyhow::anyhow!("the compile stopped: {e}"))
                    })?;
            if let Err(e) = compiled {
                // The runner reports stderr's last line as the load's failure.
                eprintln!("{e}");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Offline(args) => return commands::offline::run(&args).await,
        Command::Run(args) => {
            return commands::run::run(backends.connect_all().await?, args, view).await;
        }
        Command::Executions(command) => {
            return commands::executions::run(&backends.connect_all().await?, command, view).await;
        }
        Command::Logs(args) => {
            let backends = backends.connect_all().await?;
            return commands::executions::run(&backends, ExecutionsCommand::Logs(args), view).await;
        }
        Command::Serve(args) => commands::serve::serve(backends.connect_all().await?, args).await?,
        Command::Workflows(command) => {
            let backends = backends.connect_all().await?;
            commands::workflows::run(&*backends.workflows, command).await?
        }
        Command::Tokens(command) => {
            let backends = backends.connect_all().await?;
            commands::tokens::run(&*backends.access, command).await?
        }
        Command::Sweep(args) => commands::sweep::run(&backends.connect_all().await?, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}
