//! Every error the API answers, in one JSON shape:
//! `{"kind": "...", "message": "...", "parameter": "..."}` (`parameter` when a parameter is
//! at fault), with the executions module's own words and kinds (`not-found`,
//! `permission-denied`, `invalid-argument`, `unavailable`, `too-large`, `internal`) and the
//! API's (`unauthorized`, `forbidden`, `conflict`, `too-many-requests`,
//! `method-not-allowed`). A caller's mistake is never a 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bifrost_core::ApiError;
use serde::Serialize;

/// The body of every 401: the same whatever was wrong with the token (missing, malformed,
/// unknown, expired, revoked), so that the answer tells nothing about which.
pub const UNAUTHORIZED: &str = "a valid API token is required: Authorization: Bearer <token>";

/// An error answer of the API.
#[derive(Debug)]
pub enum Failure {
    /// No usable token (401).
    Unauthorized,
    /// The token lacks a scope, or its identity may not do this (403).
    Forbidden(String),
    /// An error of the executions module, with its own status.
    Api(ApiError),
    /// The request is malformed (400), naming the parameter at fault if one is.
    Invalid {
        /// The parameter, as the API spells it.
        parameter: Option<String>,
        /// Why.
        message: String,
    },
    /// The request conflicts with the state of what it names (409).
    Conflict(String),
    /// No such route or resource (404).
    NotFound(String),
    /// The body is over its limit (413).
    TooLarge(String),
    /// Over a rate or stream limit (429), with the seconds to wait.
    TooMany {
        /// Why.
        message: String,
        /// `Retry-After`, in seconds.
        retry_after: u64,
    },
    /// The method is not one this route answers (405).
    MethodNotAllowed,
}

impl Failure {
    /// A malformed `parameter`.
    pub fn invalid(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            parameter: Some(parameter.into()),
            message: message.into(),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<bifrost_core::error::StoreError> for Failure {
    fn from(e: bifrost_core::error::StoreError) -> Self {
        Self::Api(e.into())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    kind: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
}

impl Failure {
    /// Status, kind, message, parameter: what the answer says.
    pub fn parts(self) -> (StatusCode, &'static str, String, Option<String>) {
        match self {
            Failure::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                UNAUTHORIZED.into(),
                None,
            ),
            Failure::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None),
            Failure::Invalid { parameter, message } => (
                StatusCode::BAD_REQUEST,
                "invalid-argument",
                match &parameter {
                    Some(p) => format!("invalid argument {p}: {message}"),
                    None => message,
                },
                parameter,
            ),
            Failure::Conflict(m) => (StatusCode::CONFLICT, "conflict", m, None),
            Failure::NotFound(m) => (StatusCode::NOT_FOUND, "not-found", m, None),
            Failure::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", m, None),
            Failure::TooMany { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                message,
                None,
            ),
            Failure::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not answer that method".into(),
                None,
            ),
            Failure::Api(e) => {
                let message = e.to_string();
                match e {
                    ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", message, None),
                    ApiError::PermissionDenied(_) => {
                        (StatusCode::FORBIDDEN, "permission-denied", message, None)
                    }
                    ApiError::InvalidArgument { parameter, .. } => (
                        StatusCode::BAD_REQUEST,
                        "invalid-argument",
                        message,
                        Some(parameter.to_owned()),
                    ),
                    ApiError::NoExecutionContext => (
                        StatusCode::BAD_REQUEST,
                        "no-execution-context",
                        message,
                        None,
                    ),
                    ApiError::Unavailable(_) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        message,
                        None,
                    ),
                    ApiError::TooLarge(_) => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "too-large", message, None)
                    }
                    ApiError::LimitReached(_) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "limit-reached",
                        message,
                        None,
                    ),
                    ApiError::Internal(_) => {
                        (StatusCode::INTERNAL_SERVER_ERROR, "internal", message, None)
                    }
                }
            }
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Failure::TooMany { retry_after, .. } => Some(*retry_after),
            Failure::Api(ApiError::Unavailable(_)) => Some(1),
            _ => None,
        };
        let unauthorized = matches!(self, Failure::Unauthorized);
        let (status, kind, message, parameter) = self.parts();
        if status.is_server_error() {
            tracing::warn!(%status, kind, %message, "API request failed");
        }
        let mut response = (
            status,
            axum::Json(Body {
                kind,
                message,
                parameter,
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bifrost\""),
            );
        }
        response
    }
}
