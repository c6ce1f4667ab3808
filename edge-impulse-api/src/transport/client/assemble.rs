//! One attempt's request: the URL, the credentials where the scheme puts them, the caller's
//! headers and cookies, and the body.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{Client, ServiceState};
use crate::error::{Error, Result};
use crate::transport::auth::Location;
use crate::transport::request::{Payload, Prepared};

impl Client {
    /// The base URL with `path` (which may carry a query) appended: the URL that parsing the
    /// two joined would give, without parsing the base again.
    fn url_for(service: &ServiceState, path: &str) -> reqwest::Url {
        let (path, fragment) = path.split_once('#').map_or((path, None), |(p, f)| (p, Some(f)));
        let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        let mut url = service.base.clone();
        match service.base.path().trim_end_matches('/') {
            "" => url.set_path(path),
            prefix => url.set_path(&format!("{prefix}{path}")),
        }
        url.set_query(query);
        url.set_fragment(fragment);
        url
    }

    /// The request of one attempt. What most calls need (URL, query, credential headers) is
    /// done here; cookies, headers set by hand and bodies are out of line, so the code a small
    /// call runs stays short (measured with benches/small_call.rs).
    pub(super) fn assemble_request(&self, prepared: &Prepared, multipart: Option<reqwest::multipart::Form>) -> Result<reqwest::Request> {
        let service = self.service_state(prepared.operation)?;
        let mut url = Self::url_for(service, &prepared.path);
        let mut headers = self.inner.headers.clone();
        let mut elsewhere = Vec::new();
        for (index, scheme) in self.credentials_for(prepared)? {
            let Some(secret) = self.inner.credentials.get(scheme.credential) else { continue };
            match scheme.location {
                Location::Header => {
                    // Made at build for every credential the client holds; none there means
                    // the credential cannot be a header value.
                    let Some(value) = service.credential_headers.get(index).cloned().flatten() else {
                        return Err(invalid(prepared, format!("the credential for `{}` is not a valid header value", scheme.name)));
                    };
                    headers.insert(HeaderName::from_static(scheme.param), value);
                }
                Location::Cookie | Location::Query => elsewhere.push((scheme, secret.expose())),
            }
        }
        let query_credentials = elsewhere.iter().filter(|(scheme, _)| scheme.location == Location::Query);
        if !prepared.query.is_empty() || !elsewhere.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &prepared.query {
                pairs.append_pair(name, value);
            }
            for (scheme, value) in query_credentials {
                pairs.append_pair(scheme.param, value);
            }
        }
        if !prepared.headers.is_empty() {
            add_headers(prepared, &mut headers)?;
        }
        let cookie_credentials = elsewhere.iter().filter(|(scheme, _)| scheme.location == Location::Cookie);
        if !prepared.cookies.is_empty() || !elsewhere.is_empty() {
            add_cookies(prepared, cookie_credentials.map(|(scheme, value)| (scheme.param, *value)), &mut headers)?;
        }
        let mut request = reqwest::Request::new(prepared.method.to_reqwest(), url);
        // Handed over whole: `RequestBuilder::headers` would copy them into a second map.
        *request.headers_mut() = headers;
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
                let url = Client::url_for(service, path);
                assert_eq!(url, parsed, "base {base}, path {path:?}");
                assert_eq!(url.host(), service.base.host(), "base {base}, path {path:?}");
            }
        }
    }
}
