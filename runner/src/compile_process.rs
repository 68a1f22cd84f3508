//! Compiling deployed versions in a process of their own
//! ([`RunnerConfig::compile_command`](crate::RunnerConfig::compile_command)).
//!
//! A compile of a Python workflow is seconds of CPU and hundreds of megabytes allocated and
//! mapped. On threads of the runner's process it shares the process's allocator and its
//! address space (every `mmap`, `mprotect` and page fault of the compile takes the same
//! kernel lock as the running instances' memory changes); in a process of its own it
//! shares only the cores.
//!
//! The protocol, between a runner and the program it is configured with (the
//! `bifrost-runner` binary's hidden `compile-worker` command calls [`serve_stdio`]):
//!
//! - stdin: one line of JSON, the [`Request`] (the settings that decide the compiled code,
//!   and the threads to compile on), then the component's bytes until the end of input;
//! - stdout: the compiled component, as `Engine::precompile_component` writes it;
//! - exit status 0; otherwise the compile failed, and the last line of stderr says why.
//!
//! The runner loads the answer with `Component::deserialize`, which checks that it was
//! compiled by this build of wasmtime with settings its engine accepts.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::engine::{CodeSettings, compiling_engine};

/// The program a runner compiles deployed versions with: `program args...`, speaking the
/// protocol of this module (see [`serve_stdio`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl CompileCommand {
    /// This process's own executable with `args`: for a binary whose `args` reach
    /// [`serve_stdio`]. On Linux it is `/proc/self/exe`, the very file this process runs
    /// even after a package upgrade replaced the file at its path (a new build's compiled
    /// code would not load in this build's engine).
    pub fn current_exe<I: IntoIterator<Item = S>, S: Into<OsString>>(
        args: I,
    ) -> std::io::Result<Self> {
        let own = PathBuf::from("/proc/self/exe");
        let program = if cfg!(target_os = "linux") && own.exists() {
            own
        } else {
            std::env::current_exe()?
        };
        Ok(Self {
            program,
            args: args.into_iter().map(Into::into).collect(),
        })
    }
}

/// What the runner asks of the compiling process.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Request {
    /// The settings of the runner's engine that decide the compiled code.
    pub(crate) code: CodeSettings,
    /// Threads to compile the component's functions on.
    pub(crate) threads: usize,
}

/// Why a compile process gave no compiled component.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The process could not do the work (its program could not start, the pipe broke):
    /// the runner compiles on its own threads instead.
    NotRun(wasmtime::Error),
    /// The process ran and the compile failed (the component's fault, the compiler's, or
    /// the process was killed): the load fails with this, as a compile on the runner's
    /// threads would have, without taking the runner down with it.
    Failed(wasmtime::Error),
}

/// Compiles `bytes` with `command`, and returns the compiled component's bytes.
pub(crate) fn compile(
    command: &CompileCommand,
    request: Request,
    bytes: &[u8],
) -> Result<Vec<u8>, Failure> {
    let program = command.program.display();
    let not_run = |what: &str, e: &dyn std::fmt::Display| {
        Failure::NotRun(wasmtime::format_err!(
            "{what} the compile process {program}: {e}"
        ))
    };
    let mut child = Command::new(&command.program)
        .args(&command.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| not_run("cannot start", &e))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| not_run("no stdin for", &"piped stdin missing"))?;
    let mut header = serde_json::to_vec(&request).map_err(|e| not_run("cannot ask", &e))?;
    header.push(b'\n');
    // Written on a thread of its own while this one reads the answer, so that neither
    // side waits on a full pipe.
    let (written, output) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            stdin.write_all(&header)?;
            stdin.write_all(bytes)
            // Dropping stdin ends the input.
        });
        let output = child.wait_with_output();
        (writer.join(), output)
    });
    let output = output.map_err(|e| not_run("lost", &e))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim();
        return Err(Failure::Failed(if said.is_empty() {
            wasmtime::format_err!("the compile process {program} ended with {}", output.status)
        } else {
            wasmtime::format_err!("{said}")
        }));
    }
    match written {
        Ok(Ok(())) => Ok(output.stdout),
        Ok(Err(e)) => Err(not_run("cannot send the component to", &e)),
        Err(_) => Err(not_run(
            "cannot send the component to",
            &"the writer stopped",
        )),
    }
}

/// The compiling side of the protocol: reads a request and a component from stdin, writes
/// the compiled component to stdout. An error is the one line a runner reports as the
/// load's failure; the caller prints it as the last line of stderr and exits with a
/// failure status.
pub fn serve_stdio() -> Result<(), String> {
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .map_err(|e| format!("cannot read the component: {e}"))?;
    let compiled = compile_request(&input)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&compiled)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the compiled component: {e}"))
}

/// Compiles what a request's input holds: the request line, then the component.
fn compile_request(input: &[u8]) -> Result<Vec<u8>, String> {
    let line = memchr::memchr(b'\n', input).ok_or("the compile request has no settings line")?;
    let request: Request = serde_json::from_slice(&input[..line])
        .map_err(|e| format!("the compile request's settings are not understood: {e}"))?;
    let engine = compiling_engine(request.code).map_err(|e| format!("{e:#}"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(request.threads.max(1))
        .thread_name(|i| format!("bifrost-compile-{i}"))
        .build()
        .map_err(|e| format!("cannot start the compile threads: {e}"))?;
    pool.install(|| engine.precompile_component(&input[line + 1..]))
        // One line: a parser's message may carry a dump of bytes over several.
        .map_err(|e| {
            format!("{e:#}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunnerConfig;
    use crate::engine::engine;
    use crate::engine::tests::component_with;

    fn request_for(code: CodeSettings, bytes: &[u8]) -> Vec<u8> {
        let mut input = serde_json::to_vec(&Request { code, threads: 1 }).unwrap();
        input.push(b'\n');
        input.extend_from_slice(bytes);
        input
    }

    /// What a compiling process makes from a runner's settings loads in that runner's
    /// engine, pooled or allocating on demand, and instantiates.
    #[test]
    #[allow(unsafe_code)]
    fn what_the_compiling_side_makes_loads_in_the_runners_engine() {
        let bytes = component_with(1, 1);
        for pooling in [true, false] {
            let (runner_engine, code) = engine(&RunnerConfig {
                pooling,
                max_instances: 2,
                ..RunnerConfig::default()
            })
            .unwrap();
            let compiled = compile_request(&request_for(code, &bytes)).unwrap();
            // SAFETY: the bytes were just compiled by this build.
            let component =
                unsafe { wasmtime::component::Component::deserialize(&runner_engine, &compiled) }
                    .unwrap();
            let mut store = wasmtime::Store::new(&runner_engine, ());
            if let Err(e) = wasmtime::component::Linker::<()>::new(&runner_engine)
                .instantiate(&mut store, &component)
            {
                panic!("pooling {pooling}: {e:#}");
            }
        }
        // Settings that differ make code the runner's engine refuses, not runs.
        let (runner_engine, _) = engine(&RunnerConfig {
            max_instances: 2,
            ..RunnerConfig::default()
        })
        .unwrap();
        let other = CodeSettings {
            memory_reservation: Some(1 << 20),
        };
        let compiled = compile_request(&request_for(other, &bytes)).unwrap();
        // SAFETY: as above; wasmtime refuses it before running anything.
        let refused =
            unsafe { wasmtime::component::Component::deserialize(&runner_engine, &compiled) };
        assert!(refused.is_err());
    }

    #[test]
    fn a_bad_request_is_a_line_that_says_what_is_wrong() {
        assert_eq!(
            compile_request(b"no newline").unwrap_err(),
            "the compile request has no settings line"
        );
        assert!(
            compile_request(b"{\"threads\": \"x\"}\n")
                .unwrap_err()
                .starts_with("the compile request's settings are not understood")
        );
        let code = CodeSettings {
            memory_reservation: None,
        };
        let not_wasm = compile_request(&request_for(code, b"not a component")).unwrap_err();
        assert!(
            !not_wasm.is_empty() && !not_wasm.contains('\n'),
            "{not_wasm}"
        );
    }
}
