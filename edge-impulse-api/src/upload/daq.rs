//! The data acquisition format (a sensor recording as JSON or CBOR, optionally signed with
//! HMAC-SHA256) and the legacy `POST /api/{category}/data` endpoint that takes one.

use hmac::Mac;

use super::sample::{Category, Label};
use crate::ingestion::models;
use crate::{Client, Secret};

/// A sensor (an axis) of a recording: its name and units (`accX`, `m/s2`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sensor {
    /// The axis' name.
    pub name: String,
    /// Its units.
    pub units: String,
}

/// How a document is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentFormat {
    /// JSON (`application/json`).
    Json,
    /// CBOR (`application/cbor`): smaller, what devices send.
    Cbor,
}

impl DocumentFormat {
    fn content_type(self) -> &'static str {
        match self {
            DocumentFormat::Json => "application/json",
            DocumentFormat::Cbor => "application/cbor",
        }
    }
}

/// A document that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("data acquisition document: {0}")]
pub struct DocumentError(String);

/// A recording in the Edge Impulse data acquisition format: one row of values per sample
/// interval, one value per sensor.
///
/// ```
/// use edge_impulse_api::upload::{DataAcquisition, DocumentFormat};
/// use edge_impulse_api::Secret;
///
/// let document = DataAcquisition::new("ACME_SENSOR", 10.0)
///     .device_name("ac:87:a3:0a:2d:1b")
///     .sensor("accX", "m/s2")
///     .sensor("accY", "m/s2")
///     .row([-9.81, 0.03])
///     .row([-9.83, 0.04]);
/// let signed = document.encode(DocumentFormat::Cbor, Some(&Secret::new("hmac-key-of-the-project")))?;
/// # Ok::<(), edge_impulse_api::upload::DocumentError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DataAcquisition {
    device_name: Option<String>,
    device_type: String,
    interval_ms: f64,
    sensors: Vec<Sensor>,
    values: Vec<Vec<f64>>,
    issued_at: Option<i64>,
}

#[derive(serde::Serialize)]
struct Document<'a> {
    protected: Protected,
    signature: &'a str,
    payload: Payload<'a>,
}

#[derive(serde::Serialize)]
struct Protected {
    ver: &'static str,
    alg: &'static str,
    iat: i64,
}

#[derive(serde::Serialize)]
struct Payload<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    device_name: Option<&'a str>,
    device_type: &'a str,
    interval_ms: f64,
    sensors: &'a [Sensor],
    values: &'a [Vec<f64>],
}

/// The signature field while the document is signed: 64 zeros, the length of the hex
/// HMAC-SHA256 that replaces it.
const EMPTY_SIGNATURE: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl DataAcquisition {
    /// A recording from a device of `device_type`, one row every `interval_ms`.
    pub fn new(device_type: impl Into<String>, interval_ms: f64) -> Self {
        DataAcquisition { device_name: None, device_type: device_type.into(), interval_ms, sensors: Vec::new(), values: Vec::new(), issued_at: None }
    }

    /// The device's unique name (a MAC address, a serial number).
    pub fn device_name(mut self, name: impl Into<String>) -> Self {
        self.device_name = Some(name.into());
        self
    }

    /// Adds a sensor (a column of the rows).
    pub fn sensor(mut self, name: impl Into<String>, units: impl Into<String>) -> Self {
        self.sensors.push(Sensor { name: name.into(), units: units.into() });
        self
    }

    /// Adds a row: one value per sensor.
    pub fn row(mut self, values: impl IntoIterator<Item = f64>) -> Self {
        self.values.push(values.into_iter().collect());
        self
    }

    /// Adds rows.
    pub fn rows<R: IntoIterator<Item = f64>>(mut self, rows: impl IntoIterator<Item = R>) -> Self {
        self.values.extend(rows.into_iter().map(|row| row.into_iter().collect()));
        self
    }

    /// The signing time (`iat`, seconds since 1970); the time of encoding by default.
    pub fn issued_at(mut self, unix_seconds: i64) -> Self {
        self.issued_at = Some(unix_seconds);
        self
    }

    /// The document, signed with HMAC-SHA256 when a key is given (`alg: HS256`: the
    /// signature is computed over the document with the signature field set to 64 zeros,
    /// then put in its place), unsigned otherwise (`alg: none`).
    pub fn encode(&self, format: DocumentFormat, hmac_key: Option<&Secret>) -> Result<Vec<u8>, DocumentError> {
        if self.sensors.is_empty() {
            return Err(DocumentError("no sensor: add one with `sensor(name, units)`".to_owned()));
        }
        if let Some((index, row)) = self.values.iter().enumerate().find(|(_, row)| row.len() != self.sensors.len()) {
            return Err(DocumentError(format!("row {index} has {} values for {} sensors", row.len(), self.sensors.len())));
        }
        if !(self.interval_ms.is_finite() && self.interval_ms > 0.0) {
            return Err(DocumentError(format!("interval_ms must be a positive number, not {}", self.interval_ms)));
        }
        let document = |signature| Document {
            protected: Protected {
                ver: "v1",
                alg: if hmac_key.is_some() { "HS256" } else { "none" },
                iat: self.issued_at.unwrap_or_else(|| chrono::Utc::now().timestamp()),
            },
            signature,
            payload: Payload {
                device_name: self.device_name.as_deref(),
                device_type: &self.device_type,
                interval_ms: self.interval_ms,
                sensors: &self.sensors,
                values: &self.values,
            },
        };
        let unsigned = document(EMPTY_SIGNATURE);
        let bytes = serialize(&unsigned, format)?;
        let Some(key) = hmac_key else {
            return Ok(bytes);
        };
        // HMAC takes a key of any length; this cannot fail.
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.expose().as_bytes()).map_err(|e| DocumentError(e.to_string()))?;
        mac.update(&bytes);
        let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        // The same document with the signature in place: the encoders write fields in
        // order, and the hex text has the zeros' length, so only those bytes change.
        let signed = Document { protected: unsigned.protected, signature: &signature, payload: unsigned.payload };
        serialize(&signed, format)
    }
}

fn serialize(document: &Document<'_>, format: DocumentFormat) -> Result<Vec<u8>, DocumentError> {
    match format {
        DocumentFormat::Json => serde_json::to_vec(document).map_err(|e| DocumentError(e.to_string())),
        DocumentFormat::Cbor => {
            let mut bytes = Vec::new();
            ciborium::into_writer(document, &mut bytes).map_err(|e| DocumentError(e.to_string()))?;
            Ok(bytes)
        }
    }
}

impl Client {
    /// Sends one encoded data acquisition document to the legacy ingestion endpoint
    /// `POST /api/{category}/data` (the generated `uploadData` call) as `file_name`
    /// (`x-file-name`); answers the server's text. Duplicates are refused
    /// (`x-disallow-duplicates: 1`), which makes sending it again safe: the call is retried
    /// like an idempotent one.
    pub async fn upload_data_acquisition(
        &self,
        category: Category,
        file_name: &str,
        label: &Label,
        format: DocumentFormat,
        document: Vec<u8>,
    ) -> crate::Result<String> {
        let body = crate::TypedBody::new(format.content_type(), document);
        let mut call = self.ingestion().upload_data(models::Category::from(category.as_str()), file_name, body).x_disallow_duplicates(1);
        match label {
            Label::Inferred => {}
            Label::None => call = call.x_no_label(1),
            Label::Named(label) => call = call.x_label(label),
        }
        let mut call = call.into_request();
        call.retry_non_idempotent(true);
        let answer = call.await?.bytes().await?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }
}
