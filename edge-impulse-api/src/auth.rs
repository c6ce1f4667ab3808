//! Credentials and the security schemes that say where they go.

use std::fmt;

/// A secret string (API key, JWT, password): never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value so that it stays out of printed output.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Named so that every place that reveals it is easy to find.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl crate::ToParam for Secret {
    fn to_param(&self) -> String {
        self.0.clone()
    }
}

impl crate::Envelope for Secret {}

/// Where a credential or parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
// Which variants are built depends on the spec's schemes; all are handled.
#[allow(dead_code)]
pub enum Location {
    Query,
    Header,
    Cookie,
}

/// Which of the client's credentials a scheme carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Credential {
    ApiKey,
    Jwt,
}

/// One `securitySchemes` entry of the spec.
#[derive(Debug)]
#[doc(hidden)]
pub struct SecurityScheme {
    pub name: &'static str,
    pub location: Location,
    pub param: &'static str,
    pub credential: Credential,
}

/// Picks the credentials for an operation: the first alternative of its `security` that the
/// client can satisfy, preferring ones without cookies (headers are what the API documents
/// first; the cookie is for operations that accept nothing else). `None`: send nothing.
pub(crate) fn choose<'s>(
    security: &[&[usize]],
    schemes: &'s [SecurityScheme],
    has: impl Fn(Credential) -> bool,
) -> Option<Vec<&'s SecurityScheme>> {
    let satisfiable = |alternative: &&&[usize]| alternative.iter().all(|&i| schemes.get(i).is_some_and(|s| has(s.credential)));
    let uses_cookie = |alternative: &&&[usize]| alternative.iter().any(|&i| schemes[i].location == Location::Cookie);
    let chosen = security
        .iter()
        .filter(satisfiable)
        .find(|a| !uses_cookie(a))
        .or_else(|| security.iter().find(satisfiable))?;
    Some(chosen.iter().map(|&i| &schemes[i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMES: [SecurityScheme; 3] = [
        SecurityScheme { name: "key", location: Location::Header, param: "x-api-key", credential: Credential::ApiKey },
        SecurityScheme { name: "cookie", location: Location::Cookie, param: "jwt", credential: Credential::Jwt },
        SecurityScheme { name: "header", location: Location::Header, param: "x-jwt-token", credential: Credential::Jwt },
    ];

    fn names(chosen: Option<Vec<&SecurityScheme>>) -> Option<Vec<&'static str>> {
        chosen.map(|c| c.iter().map(|s| s.name).collect())
    }

    #[test]
    fn jwt_prefers_the_header_over_the_cookie() {
        let chosen = choose(&[&[0], &[1], &[2]], &SCHEMES, |c| c == Credential::Jwt);
        assert_eq!(names(chosen), Some(vec!["header"]));
    }

    #[test]
    fn cookie_only_operations_get_the_cookie() {
        let chosen = choose(&[&[1]], &SCHEMES, |c| c == Credential::Jwt);
        assert_eq!(names(chosen), Some(vec!["cookie"]));
    }

    #[test]
    fn nothing_is_sent_when_nothing_fits() {
        assert_eq!(names(choose(&[&[1]], &SCHEMES, |c| c == Credential::ApiKey)), None);
        assert_eq!(names(choose(&[], &SCHEMES, |_| true)), None);
    }

    #[test]
    fn secrets_do_not_show() {
        let secret = Secret::new("ei_0123456789");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "ei_0123456789");
    }
}
