//! The client and everything a call goes through: configuration, credentials, the request
//! being built, sending with retries, reading the answer, and the redaction of its errors.

pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod deadline;
pub(crate) mod download;
pub(crate) mod redact;
pub(crate) mod request;
pub(crate) mod retry;
