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
// Which variants the generated schemes use depends on the spec; all are handled.
#[allow(dead_code)]
pub enum Credential {
    /// [`ClientBuilder::api_key`](crate::ClientBuilder::api_key).
    ApiKey,
    /// [`ClientBuilder::jwt`](crate::ClientBuilder::jwt).
    Jwt,
    /// [`ClientBuilder::bearer_token`](crate::ClientBuilder::bearer_token) (OAuth 2, OpenID
    /// Connect, HTTP bearer).
    Bearer,
    /// [`ClientBuilder::basic_auth`](crate::ClientBuilder::basic_auth), sent base64-encoded.
    Basic,
}

/// One `securitySchemes` entry of the spec.
#[derive(Debug)]
#[doc(hidden)]
pub struct SecurityScheme {
    /// The scheme's name in the spec.
    pub name: &'static str,
    /// Where the credential travels.
    pub location: Location,
    /// The header (lower case), cookie or query parameter name.
    pub param: &'static str,
    /// Which credential it carries.
    pub credential: Credential,
    /// Written before the credential (`Bearer `, `Basic `), empty for API-key style schemes.
    pub prefix: &'static str,
}

/// The credentials a client holds, one per kind a security scheme can ask for.
#[derive(Clone, Default)]
pub(crate) struct Credentials {
    pub api_key: Option<Secret>,
    pub jwt: Option<Secret>,
    pub bearer: Option<Secret>,
    pub basic: Option<BasicAuth>,
}

impl Credentials {
    /// What goes on the wire for a scheme carrying `credential` (after the scheme's prefix).
    pub fn get(&self, credential: Credential) -> Option<&Secret> {
        match credential {
            Credential::ApiKey => self.api_key.as_ref(),
            Credential::Jwt => self.jwt.as_ref(),
            Credential::Bearer => self.bearer.as_ref(),
            Credential::Basic => self.basic.as_ref().map(|b| &b.encoded),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.api_key.is_none() && self.jwt.is_none() && self.bearer.is_none() && self.basic.is_none()
    }

    /// Every secret value, as redaction must know them (a basic password and its encoding).
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        let basic = self.basic.iter().flat_map(|b| [&b.password, &b.encoded]);
        [&self.api_key, &self.jwt, &self.bearer].into_iter().flatten().chain(basic)
    }

    /// The credentials held, in words, for an error that says which one is missing.
    pub fn describe(&self) -> String {
        let held: Vec<&str> = [
            (self.api_key.is_some(), "an API key"),
            (self.jwt.is_some(), "a JWT"),
            (self.bearer.is_some(), "a bearer token"),
            (self.basic.is_some(), "a user name and password"),
        ]
        .into_iter()
        .filter_map(|(held, what)| held.then_some(what))
        .collect();
        held.join(" and ")
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("jwt", &self.jwt)
            .field("bearer", &self.bearer)
            .field("basic", &self.basic)
            .finish()
    }
}

/// A user name and password for HTTP basic authentication, kept encoded as it is sent.
#[derive(Clone)]
pub(crate) struct BasicAuth {
    pub password: Secret,
    /// base64 of `user:password`.
    pub encoded: Secret,
}

impl BasicAuth {
    pub fn new(user: &str, password: Secret) -> Self {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()));
        BasicAuth { password, encoded: Secret::new(encoded) }
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicAuth(<redacted>)")
    }
}

/// Picks the credentials for an operation: the first alternative of its `security` that the
/// client can satisfy, preferring ones that use the `prefer`red credential, then ones without
/// cookies (headers are what the API documents first; the cookie is for operations that
/// accept nothing else). `None`: send nothing. The alternative is returned as indices into
/// `schemes` (all valid), so that a call allocates nothing for it.
pub(crate) fn choose<'a>(
    security: &[&'a [usize]],
    schemes: &[SecurityScheme],
    has: impl Fn(Credential) -> bool,
    prefer: Option<Credential>,
) -> Option<&'a [usize]> {
    // A plain loop that stops at the first alternative nothing beats: most operations list
    // the API key first, and a call then looks no further (a `min_by_key` chain was 13 code
    // lines of every small call, measured with callgrind on benches/small_call.rs).
    let uses = |alternative: &[usize], test: &dyn Fn(&SecurityScheme) -> bool| alternative.iter().any(|&i| test(&schemes[i]));
    let mut chosen: Option<(&'a [usize], (bool, bool))> = None;
    for &alternative in security {
        if !alternative.iter().all(|&i| schemes.get(i).is_some_and(|s| has(s.credential))) {
            continue;
        }
        // Lower is better: the preference met (or none given), then no cookie.
        let misses_preference = prefer.is_some_and(|credential| !uses(alternative, &|s| s.credential == credential));
        let rank = (misses_preference, uses(alternative, &|s| s.location == Location::Cookie));
        if chosen.map_or(true, |(_, best)| rank < best) {
            chosen = Some((alternative, rank));
            if rank == (false, false) {
                break;
            }
        }
    }
    chosen.map(|(alternative, _)| alternative)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMES: [SecurityScheme; 3] = [
        SecurityScheme { name: "key", location: Location::Header, param: "x-api-key", credential: Credential::ApiKey, prefix: "" },
        SecurityScheme { name: "cookie", location: Location::Cookie, param: "jwt", credential: Credential::Jwt, prefix: "" },
        SecurityScheme { name: "header", location: Location::Header, param: "x-jwt-token", credential: Credential::Jwt, prefix: "" },
    ];

    fn names(chosen: Option<&[usize]>) -> Option<Vec<&'static str>> {
        chosen.map(|c| c.iter().map(|&i| SCHEMES[i].name).collect())
    }

    #[test]
    fn jwt_prefers_the_header_over_the_cookie() {
        let chosen = choose(&[&[0], &[1], &[2]], &SCHEMES, |c| c == Credential::Jwt, None);
        assert_eq!(names(chosen), Some(vec!["header"]));
    }

    #[test]
    fn cookie_only_operations_get_the_cookie() {
        let chosen = choose(&[&[1]], &SCHEMES, |c| c == Credential::Jwt, None);
        assert_eq!(names(chosen), Some(vec!["cookie"]));
    }

    #[test]
    fn nothing_is_sent_when_nothing_fits() {
        assert_eq!(names(choose(&[&[1]], &SCHEMES, |c| c == Credential::ApiKey, None)), None);
        assert_eq!(names(choose(&[], &SCHEMES, |_| true, None)), None);
    }

    #[test]
    fn the_preferred_credential_wins_when_both_fit() {
        let both = |_| true;
        assert_eq!(names(choose(&[&[0], &[1], &[2]], &SCHEMES, both, None)), Some(vec!["key"]));
        assert_eq!(names(choose(&[&[0], &[1], &[2]], &SCHEMES, both, Some(Credential::Jwt))), Some(vec!["header"]));
        // A preference the operation cannot take changes nothing.
        assert_eq!(names(choose(&[&[0]], &SCHEMES, both, Some(Credential::Jwt))), Some(vec!["key"]));
    }

    #[test]
    fn basic_auth_is_encoded_once_and_hidden() {
        let basic = BasicAuth::new("user", Secret::new("pa:ss"));
        assert_eq!(basic.encoded.expose(), "dXNlcjpwYTpzcw==");
        assert_eq!(format!("{basic:?}"), "BasicAuth(<redacted>)");
    }

    #[test]
    fn secrets_do_not_show() {
        let secret = Secret::new("ei_0123456789");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "ei_0123456789");
    }
}
