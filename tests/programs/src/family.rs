//! A parent and its child in one program, through the guest crate's `workflows`: the
//! reference's "sub-workflow context passing". Its twins are `tests/python/workflows/family.py`
//! and `tests/js/family.js`; all three answer the same input with the same result.
//!
//! Input `{"role": "parent", "child": "<workflow>", "lines": n, "child_role": "child" |
//! "fail", "peek": "<execution id>"}`: logs `before 1` .. `before n`, executes `child` with
//! `{"role": child_role, "peek": peek}`, logs `after`, and returns `{"child": <the child's
//! result>, "child_id", "child_parent"}`, or `{"failed": {"execution_id", "status",
//! "message"}}` when the child did not succeed, or `{"error": "<message>"}`.
//!
//! Input `{"role": "child", "peek": id?}`: returns `{"parent": <its parent's id>,
//! "parent_lines": [<the parent's log messages so far>], "visible": [<ids it may list>],
//! "caller": <user id>, "peek": <status of `peek`, or the error's kind>}`.
//!
//! Input `{"role": "fail"}`: fails with `the child gave up`.

use bifrost::executions;
use bifrost::{Error, context, workflows};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Input {
    role: String,
    #[serde(default)]
    child: String,
    #[serde(default)]
    lines: u32,
    #[serde(default)]
    child_role: Option<String>,
    #[serde(default)]
    peek: Option<String>,
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::NotFound { .. } => "not-found",
        Error::PermissionDenied { .. } => "permission-denied",
        _ => "other",
    }
}

fn family(input: Input) -> Result<Value, String> {
    match input.role.as_str() {
        "parent" => {
            for n in 1..=input.lines {
                log::info!("before {n}");
            }
            let child_input = json!({
                "role": input.child_role.as_deref().unwrap_or("child"),
                "peek": input.peek,
            });
            let answer = match workflows::execute(&input.child, &child_input) {
                Ok(child) => json!({
                    "child": child.result_as::<Value>().map_err(|e| e.to_string())?,
                    "child_id": child.execution_id,
                    "child_parent": child.parent_execution_id,
                }),
                Err(e) => match &e {
                    Error::ChildFailed(child) => json!({"failed": {
                        "execution_id": child.execution_id,
                        "status": child.status,
                        "message": e.to_string(),
                    }}),
                    _ => json!({"error": e.to_string()}),
                },
            };
            log::info!("after");
            Ok(answer)
        }
        "child" => {
            let parent = context::parent_execution_id().ok_or("no parent")?;
            let parent_lines: Vec<String> = executions::get_current_logs()
                .execution_id(&parent)
                .count(1000)
                .fetch()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|l| l.message)
                .collect();
            let visible: Vec<String> = executions::list()
                .limit(1000)
                .fetch_all()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|e| e.execution_id)
                .collect();
            let peek = input.peek.as_deref().map(|id| match executions::get(id) {
                Ok(e) => json!(e.status),
                Err(e) => json!(kind(&e)),
            });
            Ok(json!({
                "parent": parent,
                "parent_lines": parent_lines,
                "visible": visible,
                "caller": context::caller().user_id,
                "peek": peek,
            }))
        }
        "fail" => Err("the child gave up".into()),
        other => Err(format!("no role {other:?}")),
    }
}

bifrost::workflow!(family);
