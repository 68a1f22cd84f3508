//! Rows both dialects read the same way: a claimed execution of the queue and a deployed
//! workflow. The columns are the same; only how an id, a time and a JSON value are stored
//! differs, which the [`Dialect`] says.

use bifrost_core::error::StoreError;
use bifrost_core::model::NewExecution;
use bifrost_core::queue::Claimed;
use bifrost_core::workflows::Deployment;
use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use crate::list::Dialect;

/// The columns of a deployment (`w` the workflow's row, `c` its component's), with the
/// join they come from: `SELECT {DEPLOYMENT_COLUMNS} WHERE ...`.
pub(crate) const DEPLOYMENT_COLUMNS: &str = "w.name, w.hash, c.size, w.deployed_by, \
    w.deployed_by_name, w.deployed_at \
    FROM workflows w JOIN workflow_components c ON c.hash = w.hash";

/// A row struct whose fields are read from the columns of their names, as
/// `#[derive(sqlx::FromRow)]` would read them (sqlx's `macros` feature is not built: its
/// proc-macro would build sqlx and both drivers again for the build host).
macro_rules! row_by_name {
    ($(#[$meta:meta])* struct $name:ident from $row:ty { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        struct $name {
            $($field: $ty,)*
        }

        impl<'r> sqlx::FromRow<'r, $row> for $name {
            fn from_row(row: &'r $row) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?,)*
                })
            }
        }
    };
}
pub(crate) use row_by_name;

/// A claimed execution as the dialect `D` stores it.
pub(crate) struct ClaimedRow<D: Dialect> {
    pub(crate) id: D::Id,
    workflow_name: String,
    parameters: D::Json,
    executed_by: D::Id,
    executed_by_name: String,
    organization_id: Option<D::Id>,
    form_id: Option<D::Id>,
    session_id: Option<String>,
    parent_execution_id: Option<D::Id>,
    created_at: D::Time,
    deadline_at: D::Time,
    workflow_version: Option<String>,
    submitted_as_admin: bool,
}

/// A deployment as the dialect `D` stores it.
pub(crate) struct DeploymentRow<D: Dialect> {
    pub(crate) name: String,
    pub(crate) hash: String,
    size: i64,
    deployed_by: D::Id,
    deployed_by_name: String,
    deployed_at: D::Time,
}

impl<'r, D, R> FromRow<'r, R> for ClaimedRow<D>
where
    D: Dialect<Db = R::Database>,
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            workflow_name: row.try_get("workflow_name")?,
            parameters: row.try_get("parameters")?,
            executed_by: row.try_get("executed_by")?,
            executed_by_name: row.try_get("executed_by_name")?,
            organization_id: row.try_get("organization_id")?,
            form_id: row.try_get("form_id")?,
            session_id: row.try_get("session_id")?,
            parent_execution_id: row.try_get("parent_execution_id")?,
            deadline_at: row.try_get("deadline_at")?,
            created_at: row.try_get("created_at")?,
            workflow_version: row.try_get("workflow_version")?,
            submitted_as_admin: row.try_get("submitted_as_admin")?,
        })
    }
}

impl<D: Dialect> TryFrom<ClaimedRow<D>> for Claimed {
    type Error = StoreError;

    fn try_from(r: ClaimedRow<D>) -> Result<Self, StoreError> {
        Ok(Claimed {
            new: NewExecution {
                id: D::id(r.id)?,
                workflow_name: r.workflow_name,
                parameters: D::json(r.parameters)?,
                executed_by: D::id(r.executed_by)?,
                executed_by_name: r.executed_by_name,
                organization_id: r.organization_id.map(D::id).transpose()?,
                form_id: r.form_id.map(D::id).transpose()?,
                parent_execution_id: r.parent_execution_id.map(D::id).transpose()?,
                session_id: r.session_id,
                created_at: D::time(r.created_at)?,
            },
            workflow_version: r.workflow_version.unwrap_or_default(),
            is_platform_admin: r.submitted_as_admin,
            deadline_at: D::time(r.deadline_at)?,
        })
    }
}

impl<'r, D, R> FromRow<'r, R> for DeploymentRow<D>
where
    D: Dialect<Db = R::Database>,
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Self {
            name: row.try_get("name")?,
            hash: row.try_get("hash")?,
            size: row.try_get("size")?,
            deployed_by: row.try_get("deployed_by")?,
            deployed_by_name: row.try_get("deployed_by_name")?,
            deployed_at: row.try_get("deployed_at")?,
        })
    }
}

impl<D: Dialect> TryFrom<DeploymentRow<D>> for Deployment {
    type Error = StoreError;

    fn try_from(r: DeploymentRow<D>) -> Result<Self, StoreError> {
        Ok(Deployment {
            name: r.name,
            hash: r.hash,
            size: r.size.max(0) as u64,
            deployed_by: D::id(r.deployed_by)?,
            deployed_by_name: r.deployed_by_name,
            deployed_at: D::time(r.deployed_at)?,
        })
    }
}
