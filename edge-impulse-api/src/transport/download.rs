//! Binary answers, streamed; and redirect answers, not followed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result, TimeLimit};

/// A binary response body, read incrementally: nothing is buffered unless you ask for it.
///
/// Reading fails with [`Error::Timeout`] when nothing arrives for the client's
/// [`download_idle_timeout`](crate::ClientBuilder::download_idle_timeout); the download as a
/// whole has no time limit.
#[derive(Debug)]
pub struct Download {
    operation: &'static str,
    content_length: Option<u64>,
    content_type: Option<String>,
    content_disposition: Option<String>,
    idle_timeout: Option<Duration>,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Stream(reqwest::Response),
    Bytes(Option<Bytes>),
}

impl Download {
    pub(crate) fn new(operation: &'static str, response: reqwest::Response, idle_timeout: Option<Duration>) -> Self {
        let mut download = Self::with_headers(operation, response.headers(), Body::Bytes(None));
        download.content_length = response.content_length();
        download.idle_timeout = idle_timeout;
        download.body = Body::Stream(response);
        download
    }

    /// A small answer already read (a JSON file checked for the API's failure envelope).
    pub(crate) fn buffered(operation: &'static str, headers: &reqwest::header::HeaderMap, bytes: Bytes) -> Self {
        let mut download = Self::with_headers(operation, headers, Body::Bytes(None));
        download.content_length = Some(bytes.len() as u64);
        download.body = Body::Bytes(Some(bytes));
        download
    }

    fn with_headers(operation: &'static str, headers: &reqwest::header::HeaderMap, body: Body) -> Self {
        let header = |name: reqwest::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Download {
            operation,
            content_length: None,
            content_type: header(reqwest::header::CONTENT_TYPE),
            content_disposition: header(reqwest::header::CONTENT_DISPOSITION),
            idle_timeout: None,
            body,
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

    /// The file name from `Content-Disposition` (`filename*=` preferred over `filename=`),
    /// reduced to a safe base name: no directory part, no `..`, no control characters. So
    /// `download.save(dir.join(name))` stays inside `dir`. `None` when the server sent no
    /// name, or nothing usable is left of it.
    pub fn file_name(&self) -> Option<String> {
        let disposition = self.content_disposition.as_deref()?;
        disposition_file_name(disposition).and_then(|name| safe_base_name(&name))
    }

    /// The next chunk of the body, `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        match &mut self.body {
            Body::Stream(response) => {
                let operation = self.operation;
                let reading = response.chunk();
                let chunk = match self.idle_timeout {
                    Some(limit) => tokio::time::timeout(limit, reading)
                        .await
                        .map_err(|_| Error::Timeout { operation, limit: TimeLimit::DownloadIdle(limit) })?,
                    None => reading.await,
                };
                chunk.map_err(|e| Error::transport(operation, e, None))
            }
            Body::Bytes(bytes) => Ok(bytes.take()),
        }
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes>> + Send {
        futures_util::stream::try_unfold(self, |mut download| async move {
            Ok(download.chunk().await?.map(|chunk| (chunk, download)))
        })
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

/// The file name of a `Content-Disposition` value (RFC 6266): the `filename*` parameter
/// (RFC 8187, `UTF-8''name%20with%20spaces`) if present and readable, else `filename`.
/// Parameter names are case-insensitive; quoted values may hold `;` and `\"`.
fn disposition_file_name(disposition: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for (name, value) in disposition_parameters(disposition) {
        match name.to_ascii_lowercase().as_str() {
            "filename*" => extended = extended.or_else(|| decode_extended_value(&value)),
            "filename" => plain = plain.or(Some(value)),
            _ => {}
        }
    }
    extended.or(plain)
}

/// The `name=value` parameters after the disposition type, quoted values unquoted.
fn disposition_parameters(disposition: &str) -> Vec<(String, String)> {
    let mut parameters = Vec::new();
    // Skip the disposition type (`attachment`).
    let mut rest = match disposition.split_once(';') {
        Some((_, rest)) => rest,
        None => return parameters,
    };
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        let Some((name, after)) = rest.split_once('=') else { break };
        let name = name.trim().to_owned();
        let after = after.trim_start();
        let (value, remainder) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((index, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
                        '"' => {
                            end = index + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        parameters.push((name, value));
        rest = remainder;
    }
    parameters
}

/// An RFC 8187 value, `charset'language'percent-encoded`; UTF-8 and ASCII only.
fn decode_extended_value(value: &str) -> Option<String> {
    let mut parts = value.splitn(3, '\'');
    let charset = parts.next()?;
    let _language = parts.next()?;
    let encoded = parts.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("us-ascii") {
        return None;
    }
    percent_encoding::percent_decode_str(encoded).decode_utf8().ok().map(|name| name.into_owned())
}

/// The last path component of a name a server sent, if it is a usable file name: separators
/// of any platform cut, control characters dropped, `.` and `..` refused.
fn safe_base_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    // A drive letter or stream name (`C:x`, `x:stream`) is a path on Windows.
    match cleaned {
        "" | "." | ".." => None,
        name if name.contains(':') => None,
        name => Some(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::{disposition_file_name, safe_base_name};

    fn name(disposition: &str) -> Option<String> {
        disposition_file_name(disposition).and_then(|n| safe_base_name(&n))
    }

    #[test]
    fn plain_and_quoted_names() {
        assert_eq!(name("attachment; filename=model.zip").as_deref(), Some("model.zip"));
        assert_eq!(name("attachment; FileName=\"model v2.zip\"").as_deref(), Some("model v2.zip"));
        assert_eq!(name("attachment; filename=\"a;b \\\"c\\\".bin\"; size=3").as_deref(), Some("a;b \"c\".bin"));
        assert_eq!(name("attachment"), None);
        assert_eq!(name("inline; filename=\"\""), None);
    }

    #[test]
    fn extended_names_win_and_are_decoded() {
        let header = "attachment; filename=\"fallback.bin\"; filename*=UTF-8''mod%C3%A8le%20final.zip";
        assert_eq!(name(header).as_deref(), Some("modèle final.zip"));
        // An unknown charset falls back to the plain name.
        assert_eq!(name("attachment; filename*=ISO-8859-1''x%E8.bin; filename=x.bin").as_deref(), Some("x.bin"));
    }

    #[test]
    fn directory_parts_and_dot_names_are_refused() {
        assert_eq!(name("attachment; filename=\"../../x.bin\"").as_deref(), Some("x.bin"));
        // Unquoted, so the backslashes are not escapes.
        assert_eq!(name("attachment; filename=..\\..\\windows\\x.dll").as_deref(), Some("x.dll"));
        assert_eq!(name("attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd").as_deref(), Some("passwd"));
        assert_eq!(name("attachment; filename=\"..\""), None);
        assert_eq!(name("attachment; filename=\"dir/\""), None);
        assert_eq!(name("attachment; filename=\"C:x.bin\""), None);
        assert_eq!(name("attachment; filename=\"a\u{7}b.bin\"").as_deref(), Some("ab.bin"));
    }
}
