//! A blocking client of a CSC API v1.0.4 service: one method per endpoint, errors read from
//! the specification's error body.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroizing;

use super::messages::{
    AuthorizeRequest, AuthorizeResponse, CredentialInfoRequest, CredentialInfoResponse,
    ErrorResponse, InfoRequest, InfoResponse, ListRequest, ListResponse, LoginRequest,
    LoginResponse, SignHashRequest, SignHashResponse,
};
use crate::RemoteError;

/// How long one call may take: a signature over a few hashes is quick; an approval that
/// waits for a person is polled, not held open.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A CSC service at `base_url` (the part before `/csc/v1/`), with the bearer token it issued.
pub struct CscClient {
    base_url: String,
    token: Option<Zeroizing<String>>,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for CscClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CscClient")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl CscClient {
    /// A client of the service at `base_url`, sending `token` as `Authorization: Bearer`
    /// when given (a service such as a test server may need none).
    pub fn new(base_url: &str, token: Option<Zeroizing<String>>) -> Result<Self, RemoteError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| RemoteError::Transport {
                url: base_url.to_owned(),
                reason: format!("cannot be called: {e}"),
            })?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            http,
        })
    }

    /// Signs in with a username and password (`auth/login`, HTTP Basic) and keeps the token.
    pub fn login(&mut self, username: &str, password: &str) -> Result<LoginResponse, RemoteError> {
        let basic = Zeroizing::new(STANDARD.encode(format!("{username}:{password}")));
        let answer: LoginResponse = self.call(
            "auth/login",
            &LoginRequest::default(),
            Some(&format!("Basic {}", basic.as_str())),
        )?;
        self.token = Some(Zeroizing::new(answer.access_token.clone()));
        Ok(answer)
    }

    /// `info`: what the service is.
    pub fn info(&self) -> Result<InfoResponse, RemoteError> {
        self.call("info", &InfoRequest::default(), None)
    }

    /// `credentials/list`: the signed-in user's credentials.
    pub fn list(&self) -> Result<ListResponse, RemoteError> {
        self.call("credentials/list", &ListRequest::default(), None)
    }

    /// `credentials/info` of `credential_id`, with its certificate chain and how it is
    /// authorized.
    pub fn credential_info(
        &self,
        credential_id: &str,
    ) -> Result<CredentialInfoResponse, RemoteError> {
        let request = CredentialInfoRequest {
            credential_id: credential_id.to_owned(),
            certificates: Some("chain".into()),
            auth_info: Some(true),
            ..CredentialInfoRequest::default()
        };
        self.call("credentials/info", &request, None)
    }

    /// `credentials/authorize`: the signature activation data for the hashes named.
    pub fn authorize(&self, request: &AuthorizeRequest) -> Result<AuthorizeResponse, RemoteError> {
        self.call("credentials/authorize", request, None)
    }

    /// `signatures/signHash`.
    pub fn sign_hash(&self, request: &SignHashRequest) -> Result<SignHashResponse, RemoteError> {
        self.call("signatures/signHash", request, None)
    }

    fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: &str,
        body: &Req,
        authorization: Option<&str>,
    ) -> Result<Resp, RemoteError> {
        let url = format!("{}/csc/v1/{method}", self.base_url);
        let transport = |reason: String| RemoteError::Transport {
            url: url.clone(),
            reason,
        };
        let mut request = self.http.post(&url).json(body);
        match (authorization, &self.token) {
            (Some(value), _) => request = request.header("Authorization", value),
            (None, Some(token)) => request = request.bearer_auth(token.as_str()),
            (None, None) => {}
        }
        let response = request
            .send()
            .map_err(|e| transport(format!("cannot be reached: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .map_err(|e| transport(format!("broke off its answer: {e}")))?;
        if !status.is_success() {
            let (error, description) = match serde_json::from_slice::<ErrorResponse>(&bytes) {
                Ok(e) => (e.error, e.error_description),
                Err(_) => (
                    "unknown".to_owned(),
                    String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                ),
            };
            return Err(RemoteError::Service {
                method: method.to_owned(),
                status: status.as_u16(),
                error,
                description,
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| transport(format!("answered {method} with unreadable JSON: {e}")))
    }
}
