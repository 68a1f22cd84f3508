//! The smallest workflow: returns its input unchanged, with no host call. What the
//! instantiation benchmark instantiates and calls.

fn echo(input: serde_json::Value) -> Result<serde_json::Value, bifrost::Error> {
    Ok(input)
}

bifrost::workflow!(echo);
