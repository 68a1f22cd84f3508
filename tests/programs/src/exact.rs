//! Passes its input through as JSON text, never as numbers: records it as the variable
//! `input` and as the metadata of a log line, and returns it, so that a test can check that
//! the host keeps every digit of a number on its way to the store and back.

use serde_json::value::RawValue;

fn exact(input: Box<RawValue>) -> Result<Box<RawValue>, bifrost::Error> {
    bifrost::context::set_variable("input", &input)?;
    bifrost::logging::log_with(bifrost::LogLevel::Info, "input", &input)?;
    Ok(input)
}

bifrost::workflow!(exact);
