//! Shared helpers for the runtime tests: a client pointed at a wiremock server on 127.0.0.1,
//! recognisable credentials, and checks that they never show up in printed values.

#![allow(dead_code)] // each test file uses a different subset

pub mod multipart;

use edge_impulse_api::{Client, Error};
use wiremock::{MockServer, Request};

/// Distinctive values, so a leak is easy to spot in any printed text.
pub const API_KEY: &str = "ei_test_key_4f1c9a7d2e8b";
pub const JWT: &str = "eyJhbGciOi.test-jwt-payload.sig7731";

/// A client for `server` with the chosen credentials.
pub fn client(server: &MockServer, api_key: bool, jwt: bool) -> Client {
    let mut builder = Client::builder().base_url(server.uri());
    if api_key {
        builder = builder.api_key(API_KEY);
    }
    if jwt {
        builder = builder.jwt(JWT);
    }
    builder.build().expect("client for the mock server")
}

/// Panics if `text` contains either test credential.
pub fn assert_redacted(what: &str, text: &str) {
    assert!(!text.contains(API_KEY), "{what} shows the API key: {text}");
    assert!(!text.contains(JWT), "{what} shows the JWT: {text}");
}

/// The error's Display and Debug, after checking that neither shows a credential.
pub fn checked(error: &Error) -> String {
    let display = error.to_string();
    assert_redacted("Error (Display)", &display);
    assert_redacted("Error (Debug)", &format!("{error:?}"));
    display
}

/// Unwraps an expected error, checking it is redacted.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug>(result: Result<T, Error>) -> Error {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => {
            checked(&error);
            error
        }
    }
}

/// The only request the server received.
pub async fn single_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("request recording is on");
    assert_eq!(requests.len(), 1, "expected exactly one request, got {requests:?}");
    requests.pop().unwrap()
}

pub fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

/// A minimal `CountSamplesResponse` body (a small success type with a required field).
pub fn count_body(count: i64) -> serde_json::Value {
    serde_json::json!({ "success": true, "count": count })
}
