//! One attempt's request: the URL, the credentials where the scheme puts them, the caller's
//! headers and cookies, and the body.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{Client, ServiceState};
use crate::error::{Error, Result};
use crate::transport::auth::{Location, SecurityScheme};
use crate::transport::request::{Payload, Prepared};

/// What a query's names and values keep as they are: letters, digits and `*-._`, as a form
/// serializer keeps them. Everything else is percent-encoded, a space as `%20`, which every
/// server reads as a space (a form's `+` is a space only to form decoders).
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_');

impl Client {
    /// The base URL with `path` (which may carry a query and a fragment) and `query` appended,
    /// parsed once. Written out and parsed rather than set piece by piece on a parsed copy of
    /// the base: reqwest parses every request's URL again anyway, so parsing is code a call
    /// already runs, where `Url`'s setters and its query serializer are code of their own
    /// (about 55 more 64-byte code lines a call, measured with callgrind on
    /// benches/small_call.rs).
    fn url_for<'q>(service: &ServiceState, path: &str, query: impl Iterator<Item = (&'q str, &'q str)>) -> std::result::Result<reqwest::Url, String> {
        // Byte loops rather than `str::split_once`, whose set-up costs more than a path takes
        // to scan (callgrind, as above).
        let (path, fragment) = match path.bytes().position(|b| b == b'#') {
            Some(at) => (&path[..at], Some(&path[at + 1..])),
            None => (path, None),
        };
        let mut url = String::with_capacity(service.prefix.len() + path.len() + 64);
        url.push_str(&service.prefix);
        url.push_str(path);
        // As a form serializer appends: after `?` when there is no query, after `&` when the
        // query has something.
        let mut separator = match path.bytes().position(|b| b == b'?') {
            None => "?",
            Some(at) if at + 1 == path.len() => "",
            Some(_) => "&",
        };
        for (name, value) in query {
            url.push_str(separator);
            url.extend(utf8_percent_encode(name, QUERY_COMPONENT));
            url.push('=');
            url.extend(utf8_percent_encode(value, QUERY_COMPONENT));
            separator = "&";
        }
        if let Some(fragment) = fragment {
            url.push('#');
            url.push_str(fragment);
        }
        reqwest::Url::parse(&url).map_err(|e| e.to_string())
    }

    /// The request of one attempt. What most calls need (URL, query, credential headers) is
    /// done here; cookies, headers set by hand and bodies are out of line, so the code a small
    /// call runs stays short (measured with benches/small_call.rs).
    pub(super) fn assemble_request(&self, prepared: &Prepared, multipart: Option<reqwest::multipart::Form>) -> Result<reqwest::Request> {
        let service = self.service_state(prepared.operation)?;
        let chosen = self.credentials_for(prepared)?;
        let held = |scheme: &'static SecurityScheme, location| {
            let secret = self.inner.credentials.get(scheme.credential).filter(|_| scheme.location == location)?;
            Some((scheme.param, secret.expose()))
        };
        let query_credentials = chosen.clone().filter_map(|(_, scheme)| held(scheme, Location::Query));
        let query = prepared.query.iter().map(|(name, value)| (name.as_ref(), value.as_str())).chain(query_credentials);
        let url = Self::url_for(service, &prepared.path, query).map_err(|e| invalid(prepared, format!("the request's URL: {e}")))?;
        let mut request = reqwest::Request::new(prepared.method.to_reqwest(), url);
        // Written into the request's own map: a map of their own handed over would be made,
        // moved and dropped on every call.
        let headers = request.headers_mut();
        if !self.inner.headers.is_empty() {
            headers.clone_from(&self.inner.headers);
        }
        let mut cookie_credentials = false;
        // `credentials_for` chose only schemes whose credential the client holds.
        for (index, scheme) in chosen.clone() {
            match scheme.location {
                // Made at build for every credential the client holds; none there means the
                // scheme's header name or the credential is not valid in a header.
                Location::Header => match service.credential_headers.get(index) {
                    Some(Some((name, value))) => {
                        headers.insert(name.clone(), value.clone());
                    }
                    _ => {
                        let message = format!("the credential for `{}` cannot be sent in the `{}` header", scheme.name, scheme.param);
                        return Err(invalid(prepared, message));
                    }
                },
                Location::Cookie => cookie_credentials = true,
                Location::Query => {}
            }
        }
        if !prepared.headers.is_empty() {
            add_headers(prepared, headers)?;
        }
        if cookie_credentials || !prepared.cookies.is_empty() {
            add_cookies(prepared, chosen.filter_map(|(_, scheme)| held(scheme, Location::Cookie)), headers)?;
        }
        match (&prepared.payload, multipart) {
            // Nothing for a builder to add.
            (Payload::None, None) => Ok(request),
            (_, multipart) => self.with_body(prepared, request, multipart),
        }
    }

    /// The request with its body and the body's `Content-Type`.
    fn with_body(&self, prepared: &Prepared, request: reqwest::Request, multipart: Option<reqwest::multipart::Form>) -> Result<reqwest::Request> {
        let mut builder = reqwest::RequestBuilder::from_parts(self.inner.http.clone(), request);
        builder = match &prepared.payload {
            Payload::None | Payload::Multipart(_) => builder,
            Payload::Json(bytes) => builder.header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes.clone()),
            Payload::Raw { content_type, data } => builder.header(reqwest::header::CONTENT_TYPE, content_type.as_ref()).body(data.clone()),
        };
        if let Some(form) = multipart {
            builder = builder.multipart(form);
        }
        builder.build().map_err(|e| invalid(prepared, e.without_url().to_string()))
    }
}

#[cold]
fn invalid(prepared: &Prepared, message: String) -> Error {
    Error::InvalidRequest { operation: prepared.operation.id, message }
}

/// The headers set on the request by hand, over the client's.
#[cold]
fn add_headers(prepared: &Prepared, headers: &mut HeaderMap) -> Result<()> {
    for (name, value) in &prepared.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(prepared, format!("header name `{name}`: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| invalid(prepared, format!("header `{name}` value: {e}")))?;
        headers.insert(name, value);
    }
    Ok(())
}

/// The request's cookies and the credentials sent as cookies, after any `Cookie` header set
/// by hand (on the client or the request), which is kept.
#[cold]
fn add_cookies<'a>(prepared: &'a Prepared, credentials: impl Iterator<Item = (&'a str, &'a str)>, headers: &mut HeaderMap) -> Result<()> {
    let cookies = prepared.cookies.iter().map(|(n, v)| (n.as_ref(), v.as_str())).chain(credentials);
    let ours = cookies.map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
    if ours.is_empty() {
        return Ok(());
    }
    let line = match headers.get(reqwest::header::COOKIE).and_then(|v| v.to_str().ok()) {
        Some(theirs) if !theirs.trim().is_empty() => format!("{}; {ours}", theirs.trim().trim_end_matches(';')),
        _ => ours,
    };
    let mut value = HeaderValue::from_str(&line).map_err(|_| invalid(prepared, "a cookie value is not valid in a header".into()))?;
    value.set_sensitive(true);
    headers.insert(reqwest::header::COOKIE, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Client;

    #[test]
    fn a_call_url_is_the_one_parsing_base_and_path_together_gives() {
        let bases = ["http://127.0.0.1:4800", "https://studio.example.com/v1/", "http://[::1]:80/a%20b/v1"];
        let paths = [
            "/api/1/raw-data/count",
            "/api/x?category=training&q=a%20b",
            "/a b/ü?x=ü#frag",
            "/api/../v2/./x",
            "/",
            "/api?",
            "/api#",
            // Never another host, though each of these, read as a reference of its own, names one.
            "//evil.example/x",
            "/\\evil.example/x",
            "/\t/evil.example/x",
            "/\n\\evil.example",
            "/api/%2e%2e/x",
            "/api/x?a=1#f?g",
        ];
        for base in bases {
            let client = Client::builder().base_url(base).build().unwrap();
            for path in paths {
                let parsed = reqwest::Url::parse(&format!("{}{path}", base.trim_end_matches('/'))).unwrap();
                let service = &client.inner.services[0];
                let url = Client::url_for(service, path, std::iter::empty()).unwrap();
                assert_eq!(url, parsed, "base {base}, path {path:?}");
                assert_eq!(url.host(), reqwest::Url::parse(base).unwrap().host(), "base {base}, path {path:?}");
            }
        }
    }

    #[test]
    fn query_pairs_come_back_as_given_after_the_paths_own_and_before_its_fragment() {
        let pairs = [("category", "training"), ("q", "a b&c=d"), ("ü", "+%#?/"), ("empty", ""), ("x*-._", "*-._~")];
        let client = Client::builder().base_url("http://127.0.0.1:4800/v1/").build().unwrap();
        let service = &client.inner.services[0];
        for path in ["/api/x", "/api/x?a=1", "/api?", "/api/x?a=1&", "/api/x#frag", "/api/x?a=1#f?g"] {
            let url = Client::url_for(service, path, pairs.into_iter()).unwrap();
            let bare = Client::url_for(service, path, std::iter::empty()).unwrap();
            assert_eq!((url.path(), url.fragment()), (bare.path(), bare.fragment()), "{path}");
            let own: Vec<(String, String)> = bare.query_pairs().map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
            let all: Vec<(String, String)> = url.query_pairs().map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
            let given: Vec<(String, String)> = pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
            assert_eq!(all, [own, given].concat(), "{path}: {url}");
            assert!(!url.as_str().contains('+'), "a space is %20, a plus %2B: {url}");
        }
    }
}
