//! The smallest useful workflow: greets someone, logging along the way.
//!
//! Input: `{"name": "Ada"}` (`name` is optional and defaults to `world`).
//! Result: `{"greeting": "Hello, Ada!"}`.

use serde::{Deserialize, Serialize};

/// The workflow's input.
#[derive(Debug, Deserialize)]
struct Input {
    /// Whom to greet.
    #[serde(default = "default_name")]
    name: String,
}

fn default_name() -> String {
    "world".to_owned()
}

/// The workflow's result.
#[derive(Debug, Serialize)]
struct Output {
    greeting: String,
}

fn hello(input: Input) -> Result<Output, bifrost::Error> {
    let name = input.name.trim();
    log::debug!(raw_name = input.name.as_str(); "received input");
    if name.is_empty() {
        log::warn!("empty name given; greeting the world instead");
    }
    let name = if name.is_empty() { "world" } else { name };

    let caller = bifrost::context::caller();
    log::info!(
        name,
        caller = caller.user_name.as_str(),
        length = name.chars().count();
        "greeting {name}"
    );

    let greeting = format!("Hello, {name}!");
    bifrost::context::set_variable("greeted", name)?;
    Ok(Output { greeting })
}

bifrost::workflow!(hello);
