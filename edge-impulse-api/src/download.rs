//! Binary answers, streamed; and redirect answers, not followed.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

/// A binary response body, read incrementally: nothing is buffered unless you ask for it.
#[derive(Debug)]
pub struct Download {
    operation: &'static str,
    content_length: Option<u64>,
    content_type: Option<String>,
    content_disposition: Option<String>,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Stream(reqwest::Response),
    Bytes(Option<Bytes>),
}

impl Download {
    pub(crate) fn new(operation: &'static str, response: reqwest::Response) -> Self {
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        Download {
            operation,
            content_length: response.content_length(),
            content_type: header(reqwest::header::CONTENT_TYPE),
            content_disposition: header(reqwest::header::CONTENT_DISPOSITION),
            body: Body::Stream(response),
        }
    }

    pub(crate) fn from_bytes(operation: &'static str, bytes: Bytes) -> Self {
        Download {
            operation,
            content_length: Some(bytes.len() as u64),
            content_type: None,
            content_disposition: None,
            body: Body::Bytes(Some(bytes)),
        }
    }

    /// The size announced by the server, if it announced one.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The `Content-Type` the server sent, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The file name from `Content-Disposition`, if the server sent one.
    pub fn file_name(&self) -> Option<String> {
        let disposition = self.content_disposition.as_deref()?;
        disposition.split(';').map(str::trim).find_map(|p| p.strip_prefix("filename=")).map(|n| n.trim_matches('"').to_owned())
    }

    /// The next chunk of the body, `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        match &mut self.body {
            Body::Stream(response) => response.chunk().await.map_err(|e| Error::transport(self.operation, e)),
            Body::Bytes(bytes) => Ok(bytes.take()),
        }
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes>> + Send {
        let operation = self.operation;
        match self.body {
            Body::Stream(response) => response.bytes_stream().map(move |c| c.map_err(|e| Error::transport(operation, e))).left_stream(),
            Body::Bytes(bytes) => futures_util::stream::iter(bytes.map(Ok)).right_stream(),
        }
    }

    /// The whole body in memory; for small files.
    pub async fn bytes(mut self) -> Result<Bytes> {
        let mut all = Vec::with_capacity(self.content_length.unwrap_or(0).min(64 << 20) as usize);
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.into())
    }

    /// Copies the body into `writer` chunk by chunk; returns the bytes written.
    pub async fn write_to<W: AsyncWrite + Unpin + ?Sized>(self, writer: &mut W) -> Result<u64> {
        self.write_to_with_progress(writer, |_| {}).await
    }

    /// Like [`Download::write_to`], calling `progress` once before the first chunk and after
    /// every chunk written. Only one chunk is in memory at a time, however large the body.
    pub async fn write_to_with_progress<W: AsyncWrite + Unpin + ?Sized>(
        mut self,
        writer: &mut W,
        mut progress: impl FnMut(DownloadProgress),
    ) -> Result<u64> {
        let operation = self.operation;
        let io_error = |source| Error::Io { operation, context: "writing the download".into(), source };
        let total = self.content_length;
        let mut written = 0u64;
        progress(DownloadProgress { bytes: 0, total });
        while let Some(chunk) = self.chunk().await? {
            writer.write_all(&chunk).await.map_err(io_error)?;
            written += chunk.len() as u64;
            progress(DownloadProgress { bytes: written, total });
        }
        writer.flush().await.map_err(io_error)?;
        Ok(written)
    }

    /// Saves the body to `path`. It is written to a temporary file next to it and renamed at
    /// the end, so a failed download never leaves a partial file under the final name.
    pub async fn save(self, path: impl AsRef<Path>) -> Result<u64> {
        self.save_with_progress(path, |_| {}).await
    }

    /// Like [`Download::save`], reporting progress as [`Download::write_to_with_progress`]
    /// does. The partial file has a unique hidden name next to `path` and is removed when the
    /// download fails or is dropped half-way; an existing file at `path` is replaced only
    /// once the whole body is on disk.
    pub async fn save_with_progress(self, path: impl AsRef<Path>, progress: impl FnMut(DownloadProgress)) -> Result<u64> {
        let operation = self.operation;
        let path = path.as_ref();
        let io_error = |context: String| move |source| Error::Io { operation, context, source };
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "download".into());
        // Unique, so that two downloads to the same place do not write into one file.
        let partial = PartialFile { path: path.with_file_name(format!(".{file_name}.{:08x}.part", fastrand::u32(..))), renamed: false };
        let partial_path = partial.path.as_path();
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(partial_path)
            .await
            .map_err(io_error(format!("creating {}", partial_path.display())))?;
        let written = self.write_to_with_progress(&mut file, progress).await?;
        // On disk before it takes the final name: a crash must not leave a short file there.
        file.sync_all().await.map_err(io_error(format!("writing {}", partial_path.display())))?;
        drop(file);
        tokio::fs::rename(partial_path, path).await.map_err(io_error(format!("renaming to {}", path.display())))?;
        partial.keep();
        Ok(written)
    }
}

/// How far a download got, as passed to a progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Bytes received and written so far.
    pub bytes: u64,
    /// The size announced by the server (`Content-Length`), if it announced one.
    pub total: Option<u64>,
}

impl DownloadProgress {
    /// The part done, from 0.0 to 1.0, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        match self.total {
            Some(0) => Some(1.0),
            Some(total) => Some((self.bytes as f64 / total as f64).min(1.0)),
            None => None,
        }
    }
}

/// A file being written under a temporary name: removed on drop unless kept. Drop also runs
/// when the download future is dropped half-way (a timeout, a cancelled task).
struct PartialFile {
    path: PathBuf,
    renamed: bool,
}

impl PartialFile {
    /// The file was renamed to its final name: nothing to clean up.
    fn keep(mut self) {
        self.renamed = true;
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.renamed {
            // Synchronous: Drop cannot await, and removing one file is quick.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The target of a redirect answer, which the client does not follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The 3xx status.
    pub status: u16,
    /// The `Location` header, resolved against the request URL.
    pub location: String,
}
