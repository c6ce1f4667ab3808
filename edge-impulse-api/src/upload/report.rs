//! What became of each file, the summary, progress, and the errors found before sending.

use std::path::PathBuf;
use std::time::Duration;

use super::sample::Category;

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileOutcome {
    /// Stored as a sample (with its id, when the server gave one).
    Uploaded {
        /// The new sample's id.
        sample_id: Option<i64>,
    },
    /// Refused because the project already has a sample with the same data (duplicates
    /// are refused unless [`Upload::allow_duplicates`](super::Upload::allow_duplicates)).
    Duplicate {
        /// The server's words.
        message: String,
        /// The request was sent more than once: the copy the project has may be this
        /// upload's own earlier attempt, whose answer was lost.
        after_retry: bool,
    },
    /// Not stored, as far as the answer says: the server's words, or what went wrong.
    Failed {
        /// The server's message for this file, or the request's failure (API key redacted).
        message: String,
        /// The HTTP status of a request that failed as a whole.
        status: Option<u16>,
        /// The request may have reached the server (the connection broke after sending, a
        /// 5xx, an answer that does not list this file): check the project before sending
        /// it again with duplicates allowed.
        may_be_stored: bool,
    },
}

/// One file of the upload and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file name sent.
    pub file_name: String,
    /// The file on disk, for samples read from a path.
    pub path: Option<PathBuf>,
    /// The category it was sent to.
    pub category: Category,
    /// Its size in bytes.
    pub bytes: u64,
    /// What became of it.
    pub outcome: FileOutcome,
}

/// A file of a directory that was not sent, and why (a hidden file, or an unsupported one
/// with [`Upload::skip_unsupported`](super::Upload::skip_unsupported)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// Why it was not sent.
    pub reason: String,
}

/// The result of an upload: an outcome for every file, in the order they were given
/// (a directory's in path order).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UploadReport {
    /// Every file sent, with its outcome.
    pub files: Vec<FileReport>,
    /// Files of a directory that were not sent.
    pub skipped: Vec<SkippedFile>,
    /// Requests sent, retries included.
    pub requests: u64,
    /// Requests sent again after a failure.
    pub retries: u64,
    /// Bytes of file data sent (each file counted once).
    pub bytes: u64,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

impl UploadReport {
    /// Files stored as samples.
    pub fn uploaded(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| matches!(f.outcome, FileOutcome::Uploaded { .. }))
    }

    /// Files refused as duplicates.
    pub fn duplicates(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| matches!(f.outcome, FileOutcome::Duplicate { .. }))
    }

    /// Files that failed.
    pub fn failed(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| matches!(f.outcome, FileOutcome::Failed { .. }))
    }

    /// Whether every file was stored.
    pub fn all_uploaded(&self) -> bool {
        self.files.iter().all(|f| matches!(f.outcome, FileOutcome::Uploaded { .. }))
    }
}

impl std::fmt::Display for UploadReport {
    /// One line of counts, then one line per failed file (at most 20).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = self.bytes as f64 / 1e6;
        write!(
            f,
            "{} files: {} uploaded, {} duplicates, {} failed, {} skipped; {mb:.1} MB in {:.1} s, {} requests ({} retries)",
            self.files.len(),
            self.uploaded().count(),
            self.duplicates().count(),
            self.failed().count(),
            self.skipped.len(),
            self.elapsed.as_secs_f64(),
            self.requests,
            self.retries,
        )?;
        let failed: Vec<_> = self.failed().collect();
        for file in failed.iter().take(20) {
            if let FileOutcome::Failed { message, .. } = &file.outcome {
                write!(f, "\n  {}: {message}", file.file_name)?;
            }
        }
        if failed.len() > 20 {
            write!(f, "\n  ... and {} more failed", failed.len() - 20)?;
        }
        Ok(())
    }
}

/// How far an upload is; given to [`Upload::on_progress`](super::Upload::on_progress) after
/// each request's answer (and once before the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Files with an outcome.
    pub files_done: u64,
    /// Files in the upload.
    pub files_total: u64,
    /// Bytes of the files with an outcome.
    pub bytes_done: u64,
    /// Bytes of all files.
    pub bytes_total: u64,
    /// Files stored so far.
    pub uploaded: u64,
    /// Files refused as duplicates so far.
    pub duplicates: u64,
    /// Files failed so far.
    pub failed: u64,
}

/// A problem found with one file before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// The file (for samples from memory or a reader, their file name).
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: String,
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

/// Why an upload did not start. Failures while sending are not errors: each file's
/// [`FileOutcome`] says what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// Files that cannot be sent (too large, unsupported, unreadable, a malformed `.labels`
    /// file); every one found, in order.
    #[error("{} {} cannot be uploaded: {}", .0.len(), if .0.len() == 1 { "file" } else { "files" }, list(.0))]
    Checks(Vec<CheckFailure>),
    /// A directory with no file to upload.
    #[error("{}: the directory has no file to upload (supported: {})", .0.display(), super::plan::SUPPORTED.join(", "))]
    EmptyDirectory(PathBuf),
    /// Nothing to upload: no file, sample or directory was given.
    #[error("nothing to upload: give files, samples or a directory")]
    Nothing,
}

fn list(failures: &[CheckFailure]) -> String {
    let mut text = failures.iter().take(10).map(ToString::to_string).collect::<Vec<_>>().join("; ");
    if failures.len() > 10 {
        text.push_str(&format!("; and {} more", failures.len() - 10));
    }
    text
}
