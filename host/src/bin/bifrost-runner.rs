//! `bifrost-runner`: runs workflow components as executions and queries them.
//!
//! Exit codes: 0 success; 1 the workflow's execution ended other than `Success`; 2 usage
//! or infrastructure errors (bad flags, unreachable database or log stream). Every error is
//! one line on stderr. A closed stdout (`bifrost-runner ... | head -c 1`) ends the output
//! quietly; the exit code is what it would have been.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use bifrost_host::backends::BackendConfig;
use bifrost_host::model::ExecutionStatus;
use bifrost_host::query::ListFilter;
use bifrost_host::runner::{RunRequest, Runner, RunnerConfig};
use bifrost_host::{ExecutionsService, Identity};

/// Run workflow components and query their executions and logs.
///
/// Backends: `DATABASE_URL` (PostgreSQL, or a `sqlite:` URL) and `REDIS_URL` (Redis). With
/// neither set, everything runs on this machine: a SQLite file in the data directory and
/// log streams in this process. Migrations are applied on start.
#[derive(Parser)]
#[command(name = "bifrost-runner", version)]
struct Cli {
    /// Execution store: a postgres:// or sqlite: URL; unset, a SQLite file in the data
    /// directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    /// Live log streams: a redis:// URL; unset, streams in this process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    redis_url: Option<String>,
    /// Directory of the default SQLite file (default $XDG_DATA_HOME/bifrost or
    /// ~/.local/share/bifrost).
    #[arg(long, env = "BIFROST_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Key prefix of log streams.
    #[arg(long, env = "BIFROST_LOG_PREFIX", default_value = bifrost_host::logs::DEFAULT_KEY_PREFIX, global = true)]
    log_prefix: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workflow component as a new execution and print the finished execution.
    Run(RunArgs),
    /// Query executions.
    #[command(subcommand)]
    Executions(ExecutionsCommand),
    /// Mark `Stuck` the executions whose runner stopped (left `Running` with their lease
    /// run out), move their logs to the store, and print their ids as a JSON array. (`run`
    /// does this too, beside its own execution.)
    Sweep {
        /// How long this sweep holds each execution it takes over while it moves its log,
        /// in seconds, 1 to 3600.
        #[arg(long, env = "BIFROST_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
        lease_secs: u64,
    },
    /// Write the `bifrost:executions` WIT package this runner implements as a binary WIT
    /// package (`bifrost-executions@<version>.wasm`) into a directory, for component tooling
    /// (`wasm-tools`, `wac`); print the file's path. Needs no backend.
    WitPackage {
        /// Directory to write to (created if missing).
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// Run a workflow composed with the virtual provider (`wac plug --plug
    /// bifrost_provider.wasm WORKFLOW.wasm -o OFFLINE.wasm`) in plain wasmtime with only
    /// WASI, its executions answered from a JSON fixture; print its result. Needs no backend
    /// and records nothing. Exit 1 when the workflow returns an error.
    Offline {
        /// The composed component.
        component: PathBuf,
        /// The provider's fixture (JSON); its directory is visible to the component.
        #[arg(long)]
        fixture: PathBuf,
        /// Input parameters: a JSON value, `@FILE` for a file's content, or `-` for
        /// standard input.
        #[arg(long, default_value = "{}")]
        input: String,
    },
    /// Print an execution's log entries, one JSON object a line.
    Logs {
        /// Execution id.
        execution_id: String,
        /// First entry id (inclusive): `<ms>-<seq>`, `<ms>`, or `0` for the beginning.
        #[arg(long)]
        start: Option<String>,
        /// Most entries (default 100, at most 1000).
        #[arg(long)]
        count: Option<u32>,
        #[command(flatten)]
        who: IdentityArgs,
    },
}

#[derive(Subcommand)]
enum ExecutionsCommand {
    /// List executions, newest first, as a JSON array.
    List {
        /// Only this workflow.
        #[arg(long)]
        workflow_name: Option<String>,
        /// Only this status (e.g. Failed; "Completed" means Success).
        #[arg(long)]
        status: Option<String>,
        /// ISO-8601 lower bound on started_at.
        #[arg(long)]
        start_date: Option<String>,
        /// ISO-8601 upper bound on started_at (a date covers the whole day).
        #[arg(long)]
        end_date: Option<String>,
        /// Most executions (default 50, at most 1000).
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        who: IdentityArgs,
    },
    /// Print one execution as JSON.
    Get {
        /// Execution id.
        execution_id: String,
        #[command(flatten)]
        who: IdentityArgs,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The workflow component (.wasm).
    component: PathBuf,
    /// Input parameters: a JSON value, `@FILE` for a file's content, or `-` for standard
    /// input (inputs up to the 1 MiB limit, past what a command line holds).
    #[arg(long, default_value = "{}")]
    input: String,
    /// Name to record; defaults to the component's file name without extension.
    #[arg(long)]
    workflow_name: Option<String>,
    /// Form that triggered the run.
    #[arg(long)]
    form_id: Option<Uuid>,
    /// CLI session id.
    #[arg(long)]
    session_id: Option<String>,
    /// Deadline in seconds, 1 to 604800 (7 days).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    timeout_secs: u64,
    /// How long the end of the run waits for an unreachable store before giving up, in
    /// seconds, 0 to 86400 (1 day).
    #[arg(long, env = "BIFROST_STORE_RETRY_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    store_retry_secs: u64,
    /// The lease this runner holds on its execution, in seconds, 1 to 3600: it renews it
    /// every third of that while the execution runs; once it has run out, a sweep marks
    /// the execution `Stuck`.
    #[arg(long, env = "BIFROST_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease_secs: u64,
    #[command(flatten)]
    who: IdentityArgs,
}

/// Who the command acts as. With no flag, or `--admin` alone: the operator, a platform
/// admin with no organisation (sees everything). `--user` alone: a regular user.
#[derive(Args)]
struct IdentityArgs {
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
    fn identity(&self) -> anyhow::Result<Identity> {
        let operator = Identity::operator();
        if self.user.is_none() && !self.admin {
            if self.org.is_some() {
                anyhow::bail!(
                    "--org needs --user (a regular user of that organisation) or --admin (its admin)"
                );
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

/// A failure that is not the workflow's: usage or infrastructure.
struct Fatal(anyhow::Error);

/// Set once stdout is closed by its reader: nothing more is written, and that is no error.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` and a newline to stdout; a closed stdout ends the output quietly.
fn print_line(text: &str) -> Result<(), Fatal> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => Ok(other.context("writing to stdout")?),
    }
}

/// An error as one line: the newlines some messages carry (a parser's dump of bytes, a
/// database's detail) become spaces.
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

/// The input of `run` or `offline`: JSON text, `@FILE`, or `-` for standard input.
fn read_input(arg: &str) -> anyhow::Result<serde_json::Value> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("--input -: cannot read standard input")?;
        text
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path).with_context(|| format!("--input: cannot read {path}"))?
    } else {
        arg.to_owned()
    };
    serde_json::from_str(&text).context("--input is not JSON")
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

impl<E: Into<anyhow::Error>> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.into())
    }
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
            return ExitCode::from(2);
        }
    };
    match run(cli).await {
        Ok(code) => code,
        Err(Fatal(e)) => {
            eprintln!("bifrost-runner: {}", one_line(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

async fn connect(cli: &Cli) -> Result<ExecutionsService, Fatal> {
    let config = BackendConfig {
        database_url: cli.database_url.clone().filter(|u| !u.is_empty()),
        redis_url: cli.redis_url.clone().filter(|u| !u.is_empty()),
        log_prefix: Some(cli.log_prefix.clone()),
        data_dir: cli.data_dir.clone(),
    };
    Ok(config.connect().await?)
}

fn print_json(v: &impl serde::Serialize) -> Result<(), Fatal> {
    print_line(&serde_json::to_string_pretty(v)?)
}

fn write_wit_package(out_dir: &std::path::Path) -> Result<ExitCode, Fatal> {
    let package = bifrost_host::wit::package()?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let path = out_dir.join(&package.file_name);
    std::fs::write(&path, &package.bytes).with_context(|| format!("writing {}", path.display()))?;
    print_line(&path.display().to_string())?;
    Ok(ExitCode::SUCCESS)
}

async fn run_offline(
    component: &std::path::Path,
    fixture: &std::path::Path,
    input: &str,
) -> Result<ExitCode, Fatal> {
    let input = read_input(input)?.to_string();
    let bytes =
        std::fs::read(component).with_context(|| format!("reading {}", component.display()))?;
    match bifrost_host::offline::run_composed(&bytes, fixture, &input).await? {
        Ok(result) => {
            print_line(&result)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("bifrost-runner: the workflow failed: {message}");
            Ok(ExitCode::from(1))
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Fatal> {
    // The commands that need no backend.
    match &cli.command {
        Command::WitPackage { out_dir } => return write_wit_package(out_dir),
        Command::Offline {
            component,
            fixture,
            input,
        } => return run_offline(component, fixture, input).await,
        _ => {}
    }
    let service = connect(&cli).await?;
    match cli.command {
        Command::Run(args) => {
            let identity = args.who.identity()?;
            let input = read_input(&args.input)?;
            let workflow_name = match args.workflow_name {
                Some(n) => n,
                None => args
                    .component
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .context("cannot name the workflow after its file; pass --workflow-name")?
                    .to_owned(),
            };
            let config = RunnerConfig {
                deadline: std::time::Duration::from_secs(args.timeout_secs),
                store_retry: std::time::Duration::from_secs(args.store_retry_secs),
                lease: std::time::Duration::from_secs(args.lease_secs),
                ..RunnerConfig::default()
            };
            let is_admin = identity.is_platform_admin;
            let lease = config.lease;
            let runner =
                Runner::new(service.clone(), config).map_err(|e| anyhow::anyhow!("{e:#}"))?;
            // Executions other runners left behind are swept beside this run, never before
            // it: their logs may take a while to move. What this process does not finish,
            // the next sweep takes over once its claim has run out.
            tokio::spawn(async move {
                if let Err(e) = service.sweep_stuck(lease).await {
                    tracing::warn!(error = %e, "sweep for stuck executions failed");
                }
            });
            let workflow = runner.load_file(&args.component)?;
            let execution = runner
                .run(
                    &workflow,
                    RunRequest {
                        workflow_name,
                        input,
                        identity: identity.clone(),
                        form_id: args.form_id,
                        session_id: args.session_id,
                    },
                )
                .await?;
            // Printed as the caller may see it: variables and resource figures for admins.
            let execution = execution.redact_for(is_admin);
            print_json(&execution)?;
            Ok(if execution.status == ExecutionStatus::Success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Executions(ExecutionsCommand::List {
            workflow_name,
            status,
            start_date,
            end_date,
            limit,
            who,
        }) => {
            let status = status
                .map(|s| s.parse::<ExecutionStatus>())
                .transpose()
                .context("invalid argument status")?;
            let filter = ListFilter {
                workflow_name,
                status,
                start_date,
                end_date,
                limit,
            };
            let rows = service.list(&who.identity()?, &filter).await?;
            print_json(&rows)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Executions(ExecutionsCommand::Get { execution_id, who }) => {
            let execution = service.get(&who.identity()?, &execution_id).await?;
            print_json(&execution)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sweep { lease_secs } => {
            let ids = service
                .sweep_stuck(std::time::Duration::from_secs(lease_secs))
                .await?;
            print_json(&ids)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::WitPackage { out_dir } => write_wit_package(&out_dir),
        Command::Offline {
            component,
            fixture,
            input,
        } => run_offline(&component, &fixture, &input).await,
        Command::Logs {
            execution_id,
            start,
            count,
            who,
        } => {
            let entries = service
                .logs(
                    &who.identity()?,
                    None,
                    Some(&execution_id),
                    start.as_deref(),
                    count,
                )
                .await?;
            for entry in entries {
                print_line(&serde_json::to_string(&entry)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
