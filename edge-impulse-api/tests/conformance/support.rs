//! What the generated cases are made of, and the helpers they call.
//!
//! Kept non-generic where possible: the generated file has one small function per operation
//! and everything shared lives here, compiled once.

use std::future::Future;
use std::pin::Pin;

use edge_impulse_api::{Download, Error, FilePart, Redirect};

/// One operation of the spec and how to call it.
pub struct Case {
    /// The spec's `operationId`.
    pub id: &'static str,
    pub method: &'static str,
    /// Path template as in the spec.
    pub path: &'static str,
    /// Alternatives of indices into `SCHEMES`; empty: the operation takes no credentials.
    pub security: &'static [&'static [usize]],
    pub expect: Expect,
    /// Decodes an answer into the operation's JSON result type (`None`: not a JSON answer).
    /// Used when the client reports the API's failure envelope, to check that the body
    /// decodes all the same.
    pub decode: Option<Decoder>,
    /// The call with valid arguments.
    pub call: for<'c> fn(&'c edge_impulse_api::Client) -> Call<'c>,
    /// A call the spec forbids, when the operation has a part that can be made invalid.
    pub rejection: Option<Rejection>,
}

/// Checks that an answer decodes into an operation's result type.
pub type Decoder = fn(&[u8]) -> Result<(), String>;

/// A request built from the valid one with one part made invalid.
pub struct Rejection {
    /// The body property left out, or the query parameter given a wrong value.
    pub field: &'static str,
    pub call: for<'c> fn(&'c edge_impulse_api::Client) -> Call<'c>,
}

/// The operation's result kind, as the generated client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Json,
    Empty,
    Binary,
    Redirect,
}

/// One `securitySchemes` entry of the spec.
pub struct Scheme {
    pub name: &'static str,
    pub location: SchemeLocation,
    pub param: &'static str,
    pub credential: Credential,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Which locations occur depends on the spec; all are checked.
#[allow(dead_code)]
pub enum SchemeLocation {
    Header,
    Cookie,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// The spec decides which credentials its schemes take; the suite runs with the first two.
#[allow(dead_code)]
pub enum Credential {
    ApiKey,
    Jwt,
    Bearer,
    Basic,
}

/// A case's call on its way.
pub type Call<'c> = Pin<Box<dyn Future<Output = Result<Done, Failure>> + 'c>>;

/// How a call ended when it did what the client promises.
#[derive(Debug)]
pub enum Done {
    /// A JSON (or empty) answer decoded into the operation's result type.
    Decoded,
    /// A binary answer, read to the end: its length.
    Downloaded(u64),
    /// A redirect, returned instead of followed.
    Redirected(Redirect),
    /// The server refused the request with this status and these messages.
    Rejected { status: u16, messages: Vec<String> },
}

#[derive(Debug)]
pub enum Failure {
    /// The arguments could not be built from the spec's examples.
    Arguments(String),
    /// The client returned an error.
    Call(Error),
    /// A request meant to be refused was accepted.
    Accepted,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Call(error)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Arguments(message) => write!(f, "arguments: {message}"),
            Failure::Call(error) => write!(f, "{error}"),
            Failure::Accepted => f.write_str("the invalid request was accepted"),
        }
    }
}

/// A typed argument from the JSON text of its example: decoding it is part of the test.
pub fn typed<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Failure> {
    serde_json::from_slice(json.as_bytes()).map_err(|e| argument_error(std::any::type_name::<T>(), json, &e))
}

/// Whether `body` decodes into `T`.
///
/// Every helper here decodes with `serde_json::from_slice`, as the client does: the test
/// then reuses the client's instantiation of each type's decoder instead of compiling a
/// second one (hundreds of types make that the bulk of this test's build time).
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<T>(body).map(drop).map_err(|e| e.to_string())
}

/// Untyped JSON, for bodies the typed API cannot express (invalid ones).
pub fn json_value(json: &str) -> Result<serde_json::Value, Failure> {
    serde_json::from_slice(json.as_bytes()).map_err(|e| argument_error("serde_json::Value", json, &e))
}

#[cold]
fn argument_error(type_name: &str, json: &str, error: &serde_json::Error) -> Failure {
    let shown: String = json.chars().take(200).collect();
    Failure::Arguments(format!("the example {shown} does not decode into {type_name}: {error}"))
}

/// A small in-memory file for multipart fields.
pub fn file_part(contents: &str) -> FilePart {
    FilePart::from_bytes(contents.as_bytes().to_vec()).file_name("conformance.bin")
}

/// Reads a download to its end.
pub async fn read_download(download: Download) -> Result<Done, Failure> {
    let length = download.write_to(&mut tokio::io::sink()).await?;
    Ok(Done::Downloaded(length))
}

/// The outcome of a request that should have been refused.
pub fn rejected(result: edge_impulse_api::Result<()>) -> Result<Done, Failure> {
    match result {
        Ok(()) => Err(Failure::Accepted),
        Err(Error::Status { status, messages, .. }) => Ok(Done::Rejected { status, messages }),
        Err(other) => Err(Failure::Call(other)),
    }
}

/// A case whose arguments the generator could not build.
// Only called when the generator met such an operation.
#[allow(dead_code)]
pub fn unbuildable(problem: &'static str) -> Call<'static> {
    Box::pin(std::future::ready(Err(Failure::Arguments(problem.to_owned()))))
}
