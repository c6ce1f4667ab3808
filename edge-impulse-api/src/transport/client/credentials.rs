//! Which of the client's credentials an operation gets, and the header values they travel in.

use reqwest::header::{HeaderName, HeaderValue};

use super::Client;
use crate::error::{Error, Result};
use crate::transport::auth::{choose, Credential, Credentials, Location, SecurityScheme};
use crate::transport::request::Prepared;

impl Client {
    /// What to send for the operation's `security`, or why the client cannot call it.
    pub(super) fn credentials_for(&self, prepared: &Prepared) -> Result<impl Iterator<Item = (usize, &'static SecurityScheme)> + Clone> {
        let has = |credential| self.inner.credentials.get(credential).is_some();
        let prefer = self.inner.prefer_jwt.then_some(Credential::Jwt);
        let security = prepared.operation.security;
        let all: &'static [SecurityScheme] = prepared.operation.service.schemes;
        let schemes = move |chosen: &'static [usize]| chosen.iter().filter_map(move |&i| Some((i, all.get(i)?)));
        if let Some(chosen) = choose(security, all, has, prefer) {
            return Ok(schemes(chosen));
        }
        // A client without credentials sends none (a header set by hand may carry them); one
        // with the wrong credential is told which the operation needs, instead of a bare 401.
        if security.is_empty() || self.inner.credentials.is_empty() {
            return Ok(schemes(&[]));
        }
        let has = self.inner.credentials.describe();
        Err(Error::InvalidRequest {
            operation: prepared.operation.id,
            message: format!("this operation needs {}, and the client has only {has}", needed_credentials(security, all)),
        })
    }
}

/// The credentials a `security` list accepts, in words: "an API key or a JWT".
fn needed_credentials(security: &[&[usize]], schemes: &[SecurityScheme]) -> String {
    let described = security
        .iter()
        .map(|alternative| {
            let mut names: Vec<&str> = alternative
                .iter()
                .filter_map(|&i| schemes.get(i))
                .map(|scheme| match scheme.credential {
                    Credential::ApiKey => "an API key",
                    Credential::Jwt => "a JWT (ClientBuilder::jwt or ClientBuilder::login)",
                    Credential::Bearer => "a bearer token (ClientBuilder::bearer_token)",
                    Credential::Basic => "a user name and password (ClientBuilder::basic_auth)",
                })
                .collect();
            names.dedup();
            names.join(" and ")
        });
    // Kept sorted by inserting in place: a sort of its own would be compiled for this one
    // message.
    let mut alternatives: Vec<String> = Vec::new();
    for text in described {
        if let Err(at) = alternatives.binary_search(&text) {
            alternatives.insert(at, text);
        }
    }
    alternatives.join(" or ")
}

/// The header a scheme sends with the client's credential: its name, and its prefix and the
/// secret, marked sensitive. `None` for a scheme not sent in a header, a credential the client
/// does not hold, or one a header cannot carry. Made once: checking the name and the value on
/// every call was a few hundred instructions of a small call.
pub(super) fn credential_header(scheme: &SecurityScheme, credentials: &Credentials) -> Option<(HeaderName, HeaderValue)> {
    let secret = credentials.get(scheme.credential).filter(|_| scheme.location == Location::Header)?;
    let name = HeaderName::from_bytes(scheme.param.as_bytes()).ok()?;
    let mut value = HeaderValue::from_str(&format!("{}{}", scheme.prefix, secret.expose())).ok()?;
    value.set_sensitive(true);
    Some((name, value))
}
