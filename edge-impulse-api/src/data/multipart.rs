//! `multipart/form-data` bodies: file parts from memory or from disk.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::data::params::ToParam;

/// A file to upload: bytes in memory, or a path read (streamed) when the request is sent.
#[derive(Clone)]
pub struct FilePart {
    source: Source,
    file_name: Option<String>,
    content_type: Option<String>,
}

#[derive(Clone)]
enum Source {
    Bytes(Bytes),
    Path(PathBuf),
}

impl FilePart {
    /// A file from memory. Set a name with [`FilePart::file_name`]: many endpoints need one.
    pub fn from_bytes(data: impl Into<Bytes>) -> Self {
        FilePart { source: Source::Bytes(data.into()), file_name: None, content_type: None }
    }

    /// A file on disk, streamed when the request is sent; named after the path's last part.
    pub fn from_path(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        FilePart { source: Source::Path(path), file_name, content_type: None }
    }

    /// The file name sent with the part.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// The content type sent with the part (default: `application/octet-stream`).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    async fn to_part(&self, operation: &'static str) -> Result<reqwest::multipart::Part> {
        let part = match &self.source {
            Source::Bytes(data) => reqwest::multipart::Part::stream_with_length(data.clone(), data.len() as u64),
            Source::Path(path) => {
                let io_error = |source| Error::Io { operation, context: format!("opening {}", path.display()), source };
                let file = tokio::fs::File::open(path).await.map_err(io_error)?;
                let length = file.metadata().await.map_err(io_error)?.len();
                // 64 KiB per read: each read is a blocking task on tokio's pool, and the
                // default 4 KiB made that cost show on large uploads.
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024);
                reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), length)
            }
        };
        let part = match &self.file_name {
            Some(name) => part.file_name(name.clone()),
            None => part,
        };
        let content_type = self.content_type.as_deref().unwrap_or("application/octet-stream");
        part.mime_str(content_type).map_err(|e| Error::InvalidRequest {
            operation,
            message: format!("file part content type `{content_type}`: {e}"),
        })
    }
}

impl std::fmt::Debug for FilePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("FilePart");
        match &self.source {
            Source::Bytes(data) => s.field("bytes", &data.len()),
            Source::Path(path) => s.field("path", path),
        };
        s.field("file_name", &self.file_name).field("content_type", &self.content_type).finish()
    }
}

/// The parts of a form, kept so the form can be rebuilt for a retry.
#[derive(Debug, Clone, Default)]
pub struct MultipartForm {
    parts: Vec<(String, Value)>,
    /// A field that could not be built; the request fails with it when sent.
    error: Option<String>,
}

#[derive(Debug, Clone)]
enum Value {
    Text(String),
    File(FilePart),
}

impl MultipartForm {
    /// Adds a text field.
    pub fn text(&mut self, name: &str, value: &dyn ToParam) {
        self.parts.push((name.to_owned(), Value::Text(value.to_param())));
    }

    /// Adds a field holding JSON text. A value that does not serialize makes the request
    /// fail with [`Error::InvalidRequest`] when it is sent (rather than send `null`).
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        match serde_json::to_string(value) {
            Ok(text) => self.parts.push((name.to_owned(), Value::Text(text))),
            Err(e) => {
                self.error.get_or_insert_with(|| format!("multipart field `{name}` does not serialize: {e}"));
            }
        }
    }

    /// Adds a file.
    pub fn file(&mut self, name: &str, file: &FilePart) {
        self.parts.push((name.to_owned(), Value::File(file.clone())));
    }

    pub(crate) async fn to_reqwest(&self, operation: &'static str) -> Result<reqwest::multipart::Form> {
        if let Some(message) = &self.error {
            return Err(Error::InvalidRequest { operation, message: message.clone() });
        }
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &self.parts {
            form = match value {
                Value::Text(text) => form.text(name.clone(), text.clone()),
                Value::File(file) => form.part(name.clone(), file.to_part(operation).await?),
            };
        }
        Ok(form)
    }
}

/// A generated multipart body type.
pub trait ToMultipart {
    /// Adds this value's parts to `form`, in field order.
    fn to_multipart(&self, form: &mut MultipartForm);
}

/// A form built by hand, for [`Client::request`](crate::Client::request): its parts are sent as
/// they are.
impl ToMultipart for MultipartForm {
    fn to_multipart(&self, form: &mut MultipartForm) {
        form.parts.extend(self.parts.iter().cloned());
        if form.error.is_none() {
            form.error.clone_from(&self.error);
        }
    }
}
