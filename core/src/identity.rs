//! Who an instance runs as, which execution it runs in, and the visibility rule.
//!
//! The rule lives here and only here, as pure functions, so that the host functions, the
//! CLI and every store backend apply the same rule.

use uuid::Uuid;

/// The caller an instance acts for. Bound by the host when the store is created; the guest
/// can read it but never pass or change it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// The user's id.
    pub user_id: Uuid,
    /// The user's display name.
    pub user_name: String,
    /// The user's organisation; `None` for a user outside any organisation.
    pub organization_id: Option<Uuid>,
    /// Whether the user is a platform admin.
    pub is_platform_admin: bool,
}

impl Identity {
    /// The operator: a platform admin with no organisation, who sees every execution.
    /// Its user id is the nil UUID.
    pub fn operator() -> Self {
        Self {
            user_id: Uuid::nil(),
            user_name: "operator".to_owned(),
            organization_id: None,
            is_platform_admin: true,
        }
    }

    /// The set of executions this identity may see.
    pub fn scope(&self) -> Scope {
        match (self.is_platform_admin, self.organization_id) {
            (true, None) => Scope::All,
            (true, Some(org)) => Scope::Organization(org),
            (false, organization_id) => Scope::OwnExecutions {
                user_id: self.user_id,
                organization_id,
            },
        }
    }

    /// Whether this identity may see an execution started by `executed_by` in
    /// `organization_id`.
    pub fn can_view(&self, executed_by: Uuid, organization_id: Option<Uuid>) -> bool {
        self.scope().contains(executed_by, organization_id)
    }
}

/// The executions an identity may see, in a form a store turns into a query condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every execution: a platform admin with no organisation.
    All,
    /// Every execution of one organisation: a platform admin of it.
    Organization(Uuid),
    /// The executions a user started in their organisation (`None`: outside any organisation).
    OwnExecutions {
        /// The user.
        user_id: Uuid,
        /// The user's organisation; executions with another (or no) organisation are hidden.
        organization_id: Option<Uuid>,
    },
}

impl Scope {
    /// Whether an execution started by `executed_by` in `organization_id` is in this scope.
    pub fn contains(&self, executed_by: Uuid, organization_id: Option<Uuid>) -> bool {
        match *self {
            Scope::All => true,
            Scope::Organization(org) => organization_id == Some(org),
            Scope::OwnExecutions {
                user_id,
                organization_id: user_org,
            } => executed_by == user_id && organization_id == user_org,
        }
    }
}

/// The execution an instance runs in. Bound by the host; absent for an instance that runs
/// outside any execution (then calls that need one fail with `no-execution-context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionContext {
    /// The running execution's id.
    pub execution_id: Uuid,
    /// The running workflow's name.
    pub workflow_name: String,
    /// The execution that started this one from a workflow; none for one started from
    /// outside.
    pub parent_execution_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(admin: bool, org: Option<Uuid>) -> Identity {
        Identity {
            user_id: Uuid::new_v4(),
            user_name: "u".into(),
            organization_id: org,
            is_platform_admin: admin,
        }
    }

    /// Every combination of caller kind and execution owner/organisation.
    #[test]
    fn visibility_matrix() {
        let org_a = Uuid::new_v4();
        let org_b = Uuid::new_v4();
        let someone_else = Uuid::new_v4();

        let admin_all = user(true, None);
        let admin_a = user(true, Some(org_a));
        let user_a = user(false, Some(org_a));
        let user_none = user(false, None);

        // (caller, executed_by, organisation, expected)
        let cases = [
            // Admin with no organisation: everything.
            (&admin_all, admin_all.user_id, None, true),
            (&admin_all, someone_else, Some(org_a), true),
            (&admin_all, someone_else, Some(org_b), true),
            (&admin_all, someone_else, None, true),
            // Admin of org A: everything in A, nothing elsewhere, whoever started it.
            (&admin_a, admin_a.user_id, Some(org_a), true),
            (&admin_a, someone_else, Some(org_a), true),
            (&admin_a, someone_else, Some(org_b), false),
            (&admin_a, admin_a.user_id, Some(org_b), false),
            (&admin_a, someone_else, None, false),
            (&admin_a, admin_a.user_id, None, false),
            // Regular user of org A: only their own, only in A.
            (&user_a, user_a.user_id, Some(org_a), true),
            (&user_a, someone_else, Some(org_a), false),
            (&user_a, user_a.user_id, Some(org_b), false),
            (&user_a, user_a.user_id, None, false),
            (&user_a, someone_else, Some(org_b), false),
            // Regular user with no organisation: own executions outside any organisation.
            (&user_none, user_none.user_id, None, true),
            (&user_none, user_none.user_id, Some(org_a), false),
            (&user_none, someone_else, None, false),
        ];
        for (i, (caller, by, org, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                caller.can_view(by, org),
                expected,
                "case {i}: {caller:?} {by} {org:?}"
            );
        }
    }

    #[test]
    fn scope_kinds() {
        let org = Uuid::new_v4();
        assert_eq!(user(true, None).scope(), Scope::All);
        assert_eq!(user(true, Some(org)).scope(), Scope::Organization(org));
        let u = user(false, Some(org));
        assert_eq!(
            u.scope(),
            Scope::OwnExecutions {
                user_id: u.user_id,
                organization_id: Some(org)
            }
        );
        assert_eq!(Identity::operator().scope(), Scope::All);
    }
}
