//! The execution this workflow runs in, and who it runs as, as bound by the host.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::wit;

/// Who the workflow runs as: the user whose identity the host bound to the instance. It
/// decides which executions [`crate::executions`] may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Caller {
    /// The user's id.
    pub user_id: String,
    /// The user's display name.
    pub user_name: String,
    /// The user's organisation, if any.
    pub org_id: Option<String>,
    /// Whether the user is a platform admin (sees every execution of their organisation).
    pub is_platform_admin: bool,
}

impl From<wit::types::Caller> for Caller {
    fn from(c: wit::types::Caller) -> Self {
        Self {
            user_id: c.user_id,
            user_name: c.user_name,
            org_id: c.org_id,
            is_platform_admin: c.is_platform_admin,
        }
    }
}

/// The current execution's id; `None` outside an execution.
pub fn execution_id() -> Option<String> {
    wit::context::execution_id()
}

/// The current workflow's name; `None` outside an execution.
pub fn workflow_name() -> Option<String> {
    wit::context::workflow_name()
}

/// The execution that started the current one with [`crate::workflows`]; `None` for an
/// execution started from outside, and outside an execution.
pub fn parent_execution_id() -> Option<String> {
    wit::context::parent_execution_id()
}

/// Who this workflow runs as.
pub fn caller() -> Caller {
    wit::context::caller().into()
}

/// Records a runtime variable on the current execution, serialised as JSON. It shows in the
/// execution's `variables` (visible to platform admins).
///
/// Fails with [`Error::Json`] if `value` cannot be serialised, with
/// [`Error::NoExecutionContext`] outside an execution, and with [`Error::TooLarge`] if the value
/// exceeds the host's limit.
///
/// ```no_run
/// # fn main() -> Result<(), bifrost::Error> {
/// bifrost::context::set_variable("processed", &42)?;
/// bifrost::context::set_variable("last_user", &serde_json::json!({"id": "u1"}))?;
/// # Ok(())
/// # }
/// ```
pub fn set_variable<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<(), Error> {
    let json = serde_json::to_string(value)?;
    wit::context::set_variable(name, &json)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_caller() {
        let caller = Caller::from(wit::types::Caller {
            user_id: "u1".into(),
            user_name: "Ada".into(),
            org_id: None,
            is_platform_admin: true,
        });
        assert_eq!(
            caller,
            Caller {
                user_id: "u1".into(),
                user_name: "Ada".into(),
                org_id: None,
                is_platform_admin: true,
            }
        );
    }
}
