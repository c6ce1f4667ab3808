//! Pure values: how models, parameters and forms become bytes on the wire and back. Nothing
//! here knows the client; the transport above uses these.

pub(crate) mod codec;
pub(crate) mod enums;
pub mod multipart;
pub(crate) mod params;
