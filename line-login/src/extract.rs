//! The axum extractor: a verified LINE user from `Authorization: Bearer <id token>`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::{Error, ErrorKind, IdTokenClaims, MalformedPart, Verifier};

/// A user whose ID token verified locally (no nonce is checked). The state must give an
/// `Arc<Verifier>` through [`FromRef`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LineUser {
    /// The LINE user ID (`sub`).
    pub user_id: String,
    /// All claims of the token.
    pub claims: IdTokenClaims,
}

/// The rejection of [`LineUser`]: a bare 401 with `WWW-Authenticate: Bearer`. The cause
/// stays on the server side ([`error`](Self::error)); the answer says nothing of it.
#[derive(Debug)]
pub struct Unauthorized {
    error: Error,
}

impl Unauthorized {
    /// Why the token was refused.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized",
        )
            .into_response()
    }
}

impl<S> FromRequestParts<S> for LineUser
where
    Arc<Verifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Unauthorized;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<Verifier>::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Unauthorized {
                error: ErrorKind::Malformed {
                    part: MalformedPart::Token,
                    reason: "no bearer token in the authorization header",
                }
                .into(),
            })?;
        let claims = verifier
            .verify_id_token(token, None)
            .await
            .map_err(|error| Unauthorized { error })?;
        Ok(Self {
            user_id: claims.sub.clone(),
            claims,
        })
    }
}
