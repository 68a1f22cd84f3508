//! Signing in and out, and the session of a signed-in browser: its token secret in an
//! `HttpOnly`, `SameSite=Strict` cookie, looked up as the API looks up a bearer token, and
//! the CSRF token its forms carry.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{PageFailure, PageResult, bad_form, encode, view};
use crate::ApiState;
use crate::error::Failure;
use crate::tokens::Caller;

/// `/sign-in` (the form, and signing in) and `/sign-out`.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-out", post(sign_out))
}

/// The cookie that holds a signed-in browser's token secret.
const SESSION_COOKIE: &str = "bifrost_token";
/// The cookie that holds the sign-in form's CSRF value.
const SIGN_IN_COOKIE: &str = "bifrost_sign_in";

/// The value of cookie `name`, if the request has it.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request came over TLS, as a proxy in front says.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for `name`; `value` `None` removes it.
fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let mut text = match value {
        Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).expect("cookie values are hex")
}

/// The CSRF token of a signed-in browser whose session secret is `secret`.
pub fn csrf_of(secret: &str) -> String {
    let digest = Sha256::digest(format!("bifrost-csrf\0{secret}").as_bytes());
    hex::encode(&digest[..16])
}

/// Whether two texts are equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A signed-in browser: its caller and the CSRF token its forms carry.
pub(super) struct Session {
    /// Who the browser acts as: its token.
    pub(super) caller: Caller,
    /// The CSRF token of its forms.
    pub(super) csrf: String,
}

impl Session {
    /// Checks a POST form's CSRF token.
    /// Execution `id`, when this browser's token may read it: the API's `get`.
    pub(super) async fn visible(
        &self,
        state: &ApiState,
        id: &str,
    ) -> Result<bifrost_core::model::Execution, PageFailure> {
        self.caller.require(bifrost_core::access::Scopes::READ)?;
        Ok(state.service.get(self.caller.identity(), id).await?)
    }

    pub(super) fn check(&self, sent: &str) -> Result<(), PageFailure> {
        if same(sent, &self.csrf) {
            Ok(())
        } else {
            Err(PageFailure(Failure::Forbidden(
                "this form is stale or came from another site (CSRF token missing or wrong): \
                 reload the page and try again"
                    .into(),
            )))
        }
    }
}

impl FromRequestParts<ApiState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let back = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/runs", |p| p.as_str())
                .to_owned();
            Redirect::to(&format!("/sign-in?next={}", encode(&next))).into_response()
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(back());
        };
        match Caller::authenticate(state, secret).await {
            Ok(caller) => Ok(Session {
                caller,
                csrf: csrf_of(secret),
            }),
            Err(Failure::Unauthorized) => Err(back()),
            Err(e) => Err(PageFailure(e).into_response()),
        }
    }
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

/// Where a sign-in may send the browser on: a path of this site only.
fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/runs".to_owned(),
    }
}

async fn sign_in_form(
    headers: HeaderMap,
    query: Result<Query<NextParam>, QueryRejection>,
) -> Response {
    let next = query.ok().and_then(|Query(q)| q.next);
    sign_in_page(&headers, &local_next(next.as_deref()), None, StatusCode::OK)
}

/// The sign-in page, with a CSRF value (the browser's, or a new one set now).
fn sign_in_page(
    headers: &HeaderMap,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (value, fresh) = match cookie(headers, SIGN_IN_COOKIE) {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (v.to_owned(), false)
        }
        _ => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).expect("the operating system's random source");
            (hex::encode(bytes), true)
        }
    };
    let mut response = (status, view::sign_in(&value, next, error)).into_response();
    if fresh {
        response.headers_mut().insert(
            header::SET_COOKIE,
            set_cookie(SIGN_IN_COOKIE, Some(&value), over_tls(headers)),
        );
    }
    response
}

#[derive(Deserialize)]
struct SignInForm {
    token: String,
    csrf: String,
    next: Option<String>,
}

async fn sign_in(
    State(state): State<ApiState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(bad_form)?;
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&form.csrf, expected) {
        return Err(PageFailure(Failure::Forbidden(
            "this sign-in form is stale or came from another site: reload it and try again".into(),
        )));
    }
    let next = local_next(form.next.as_deref());
    let secret = form.token.trim();
    match Caller::authenticate(&state, secret).await {
        Ok(_) => {}
        Err(Failure::Unauthorized) => {
            return Ok(sign_in_page(
                &headers,
                &next,
                Some("That token is not valid: it is unknown, expired or revoked."),
                StatusCode::UNAUTHORIZED,
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let secure = over_tls(&headers);
    let mut response = Redirect::to(&next).into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, Some(secret), secure),
    );
    cookies.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, None, secure));
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

async fn sign_out(
    session: Session,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(bad_form)?;
    session.check(&form.csrf)?;
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, None, over_tls(&headers)),
    );
    Ok(response)
}
