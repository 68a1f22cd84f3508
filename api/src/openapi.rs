//! The API's OpenAPI 3.1 document, served at `/api/v1/openapi.json` and committed as
//! `docs/openapi.json` (a test fails when the two differ). It is built here, beside the
//! routes, from [`ROUTES`]: the table the router's test also walks, so that every route it
//! describes is one the router answers.

use serde_json::{Value, json};

/// One operation of the API.
pub struct Route {
    /// `get`, `post` or `delete`.
    pub method: &'static str,
    /// The path under `/api/v1`, with `{name}` for a path parameter.
    pub path: &'static str,
    /// The scope the token needs.
    pub scope: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Query parameters: name and description.
    pub query: &'static [(&'static str, &'static str)],
    /// The request body's schema (a name under `components/schemas`), if any.
    pub body: Option<&'static str>,
    /// The success status and the schema of its body.
    pub ok: (u16, &'static str),
}

/// Every operation, in the order of the reference table (docs/API.md).
pub const ROUTES: &[Route] = &[
    Route {
        method: "get",
        path: "/executions",
        scope: "read",
        summary: "Executions visible to the caller, newest first, one page",
        query: &[
            ("workflow_name", "Only this workflow"),
            (
                "status",
                "Only this status (any spelling the guest API takes; `completed` is `Success`)",
            ),
            ("start_date", "ISO-8601 lower bound on `started_at`"),
            ("end_date", "ISO-8601 upper bound on `started_at`"),
            ("limit", "Page size, default 50, at most 1000"),
            ("cursor", "The `next_cursor` of the page before"),
        ],
        body: None,
        ok: (200, "ExecutionPage"),
    },
    Route {
        method: "post",
        path: "/executions",
        scope: "run",
        summary: "Submit an execution of a deployed workflow, as the token's identity \
                  (header `Idempotency-Key` makes a retry return the same execution, 200)",
        query: &[],
        body: Some("Submission"),
        ok: (201, "Execution"),
    },
    Route {
        method: "get",
        path: "/executions/{id}",
        scope: "read",
        summary: "One execution (with its logs once it has ended); 404 not found, 403 not visible",
        query: &[],
        body: None,
        ok: (200, "Execution"),
    },
    Route {
        method: "get",
        path: "/executions/{id}/logs",
        scope: "read",
        summary: "Log lines: live while the execution runs, stored after, the same ids",
        query: &[
            ("start", "First entry id, inclusive"),
            ("count", "Most lines, default 100, capped at 1000"),
        ],
        body: None,
        ok: (200, "LogPage"),
    },
    Route {
        method: "get",
        path: "/executions/{id}/logs/stream",
        scope: "read",
        summary: "Server-sent events: `log` (id: the entry id; data: the line) for each line, \
                  then one `end` (data: execution_id, status); resumes after `Last-Event-ID`",
        query: &[("after", "Resume after this entry id (as `Last-Event-ID`)")],
        body: None,
        ok: (200, "EventStream"),
    },
    Route {
        method: "post",
        path: "/executions/{id}/cancel",
        scope: "run",
        summary: "Cancel a pending, scheduled or running execution; 409 once it has ended",
        query: &[],
        body: None,
        ok: (200, "Cancelled"),
    },
    Route {
        method: "get",
        path: "/workflows",
        scope: "read",
        summary: "The deployed workflows, by name",
        query: &[],
        body: None,
        ok: (200, "WorkflowList"),
    },
    Route {
        method: "post",
        path: "/workflows",
        scope: "deploy",
        summary: "Deploy a workflow component (the body, application/wasm) under `name`; \
                  a platform admin's act",
        query: &[("name", "The workflow's name")],
        body: Some("Component"),
        ok: (201, "Deployment"),
    },
    Route {
        method: "delete",
        path: "/workflows/{name}",
        scope: "deploy",
        summary: "Remove a deployed workflow's name (its versions stay stored)",
        query: &[],
        body: None,
        ok: (200, "Removed"),
    },
    Route {
        method: "get",
        path: "/tokens",
        scope: "admin",
        summary: "The caller's user's tokens, without secrets",
        query: &[],
        body: None,
        ok: (200, "TokenList"),
    },
    Route {
        method: "post",
        path: "/tokens",
        scope: "admin",
        summary: "Make a token for the caller, with at most its scopes and an end no later \
                  than its own; the secret is in `token`, this once",
        query: &[],
        body: Some("NewToken"),
        ok: (201, "CreatedToken"),
    },
    Route {
        method: "delete",
        path: "/tokens/{id}",
        scope: "admin",
        summary: "Revoke one of the caller's user's tokens",
        query: &[],
        body: None,
        ok: (200, "Token"),
    },
    Route {
        method: "get",
        path: "/audit",
        scope: "admin",
        summary: "The audit record, newest first: every act for a platform admin with no \
                  organisation, its users' acts for one of an organisation",
        query: &[
            (
                "before",
                "Only entries before this position (`next_before`)",
            ),
            ("limit", "Most entries, default 100, at most 1000"),
        ],
        body: None,
        ok: (200, "AuditPage"),
    },
    Route {
        method: "get",
        path: "/openapi.json",
        scope: "",
        summary: "This document",
        query: &[],
        body: None,
        ok: (200, "OpenApi"),
    },
];

fn string() -> Value {
    json!({"type": "string"})
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn object(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

fn schemas() -> Value {
    let execution = object(json!({
        "execution_id": {"type": "string", "format": "uuid"},
        "workflow_name": string(),
        "org_id": nullable("string"),
        "form_id": nullable("string"),
        "parent_execution_id": {
            "type": ["string", "null"],
            "description": "the execution that started this one from a workflow; null for one started from outside"
        },
        "executed_by": {"type": "string", "format": "uuid"},
        "executed_by_name": string(),
        "status": {"type": "string", "enum": [
            "Scheduled", "Pending", "Running", "Success", "Failed", "Timeout", "Stuck",
            "CompletedWithErrors", "Cancelling", "Cancelled"]},
        "input_data": {},
        "result": {},
        "result_type": nullable("string"),
        "error_message": nullable("string"),
        "duration_ms": nullable("integer"),
        "started_at": nullable("string"),
        "completed_at": nullable("string"),
        "created_at": string(),
        "logs": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/LogEntry"}},
        "variables": {"description": "platform admins only"},
        "session_id": nullable("string"),
        "peak_memory_bytes": nullable("integer"),
        "cpu_total_seconds": nullable("number"),
        "log_lines_dropped": nullable("integer"),
        "workflow_version": nullable("string"),
    }));
    let log_entry = object(json!({
        "id": {"type": "string", "description": "stream id, `ms-seq`"},
        "execution_id": {"type": "string", "format": "uuid"},
        "level": {"type": "string", "enum": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]},
        "message": string(),
        "metadata": {"type": ["object", "null"]},
        "timestamp": string(),
    }));
    let token = object(json!({
        "id": {"type": "string", "format": "uuid"},
        "name": string(),
        "prefix": string(),
        "user_id": {"type": "string", "format": "uuid"},
        "user_name": string(),
        "organization_id": nullable("string"),
        "is_platform_admin": {"type": "boolean"},
        "scopes": {"type": "array", "items": {"type": "string", "enum": ["read", "run", "deploy", "admin"]}},
        "created_at": string(),
        "created_by": nullable("string"),
        "expires_at": nullable("string"),
        "last_used_at": nullable("string"),
        "revoked_at": nullable("string"),
    }));
    let array_of = |name: &str, item: &str| {
        object(
            json!({ name: {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}} }),
        )
    };
    json!({
        "Error": object(json!({
            "kind": {"type": "string", "enum": [
                "invalid-argument", "unauthorized", "forbidden", "permission-denied",
                "not-found", "method-not-allowed", "conflict", "too-large",
                "too-many-requests", "unavailable", "internal", "no-execution-context"]},
            "message": string(),
            "parameter": string(),
        })),
        "Execution": execution,
        "LogEntry": log_entry,
        "ExecutionPage": object(json!({
            "executions": {"type": "array", "items": {"$ref": "#/components/schemas/Execution"}},
            "next_cursor": nullable("string"),
        })),
        "LogPage": array_of("logs", "LogEntry"),
        "EventStream": {"type": "string", "description": "text/event-stream"},
        "Submission": {
            "type": "object",
            "required": ["workflow"],
            "properties": {
                "workflow": string(),
                "input": {"description": "any JSON value, default {}"},
                "at": {"type": "string", "description": "RFC 3339: Scheduled until then"},
            },
        },
        "Cancelled": object(json!({
            "execution_id": {"type": "string", "format": "uuid"},
            "status": {"type": "string", "enum": ["Cancelled", "Cancelling"]},
        })),
        "Deployment": object(json!({
            "name": string(),
            "hash": string(),
            "size": {"type": "integer"},
            "deployed_by": {"type": "string", "format": "uuid"},
            "deployed_by_name": string(),
            "deployed_at": string(),
            "outcome": {"type": "string", "enum": ["deployed", "unchanged"]},
        })),
        "WorkflowList": array_of("workflows", "Deployment"),
        "Component": {"type": "string", "format": "binary"},
        "Removed": object(json!({"removed": string()})),
        "Token": token,
        "TokenList": array_of("tokens", "Token"),
        "NewToken": {
            "type": "object",
            "required": ["scopes"],
            "properties": {
                "name": string(),
                "scopes": {"type": "array", "items": string()},
                "expires_at": {"type": "string", "description": "RFC 3339; default the caller's own end"},
            },
        },
        "CreatedToken": {"allOf": [
            {"$ref": "#/components/schemas/Token"},
            object(json!({"token": {"type": "string", "description": "the secret, shown this once"}})),
        ]},
        "AuditEntry": object(json!({
            "seq": {"type": "integer"},
            "at": string(),
            "user_id": {"type": "string", "format": "uuid"},
            "user_name": string(),
            "organization_id": nullable("string"),
            "token_id": nullable("string"),
            "action": string(),
            "target": string(),
            "detail": {"type": "object"},
        })),
        "AuditPage": {
            "type": "object",
            "properties": {
                "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
                "next_before": nullable("integer"),
            },
        },
        "OpenApi": {"type": "object"},
    })
}

/// The document.
pub fn document() -> Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        })
    };
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let mut parameters: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": string()}))
            .collect();
        parameters.extend(r.query.iter().map(|(name, description)| {
            json!({"name": name, "in": "query", "required": false,
                   "description": description, "schema": string()})
        }));
        let content_type = match r.ok.1 {
            "EventStream" => "text/event-stream",
            _ => "application/json",
        };
        let mut op = json!({
            "summary": r.summary,
            "parameters": parameters,
            "responses": {
                r.ok.0.to_string(): {
                    "description": "success",
                    "content": {content_type: {"schema": {"$ref": format!("#/components/schemas/{}", r.ok.1)}}},
                },
                "400": error("a malformed parameter or body"),
                "401": error("no usable token"),
                "403": error("the token lacks the scope, or the caller may not see this"),
                "404": error("not found"),
                "429": error("over the token's rate or streams"),
                "503": error("a backend cannot be reached"),
            },
        });
        if r.scope.is_empty() {
            op["security"] = json!([]);
        } else {
            op["x-scope"] = json!(r.scope);
        }
        if let Some(body) = r.body {
            let media = if body == "Component" {
                "application/wasm"
            } else {
                "application/json"
            };
            op["requestBody"] = json!({
                "required": true,
                "content": {media: {"schema": {"$ref": format!("#/components/schemas/{body}")}}},
            });
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "bifrost-executions HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Executions, their logs (live as server-sent events), submissions, \
                            deployed workflows, tokens and the audit record. See docs/API.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas(),
        },
    })
}

/// The document as `docs/openapi.json` holds it: pretty, with a final newline.
pub fn text() -> String {
    let mut t = serde_json::to_string_pretty(&document()).expect("a JSON value serialises");
    t.push('\n');
    t
}
