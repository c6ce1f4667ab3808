//! Uploading datasets to the ingestion service: many files per request, a few requests at a
//! time, an outcome for every file.
//!
//! ```no_run
//! # async fn run(client: edge_impulse_api::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use edge_impulse_api::upload::Category;
//!
//! let report = client
//!     .upload()
//!     .directory("dataset/")              // `training/`, `testing/` folders, `info.labels`, ...
//!     .category(Category::Split)          // for files no folder or labels file places
//!     .on_progress(|p| println!("{}/{} files", p.files_done, p.files_total))
//!     .await?;
//! println!("{report}");
//! for file in report.failed() {
//!     eprintln!("{}: {:?}", file.file_name, file.outcome);
//! }
//! # Ok(()) }
//! ```
//!
//! # What is sent
//!
//! Files go to `POST /api/{category}/files` as `data` parts of a `multipart/form-data` body,
//! up to 1000 parts and [`max_request_bytes`](Upload::max_request_bytes) per request; files
//! on disk are streamed, each opened when its part is sent, so memory does not grow with the
//! size or number of files. Files share a request when they share category, label and
//! metadata (those are the request's path and headers: `x-label`, percent-encoded as the
//! Edge Impulse CLI does, or `x-no-label: 1`; `x-metadata`, a JSON object of strings). Their
//! bounding boxes and structured labels travel in the same request as a
//! `bounding_boxes.labels` or `structured_labels.labels` part, the format of the Edge
//! Impulse exporter.
//!
//! # Directories
//!
//! [`Upload::directory`] takes every file below the folder. A path segment `training`,
//! `testing` or `anomaly` sets a file's category (otherwise [`Upload::category`], `split` by
//! default). An `info.labels` file (an Edge Impulse export) gives the category, label,
//! metadata and boxes of the files it lists (paths relative to its folder); a
//! `bounding_boxes.labels` or `structured_labels.labels` file gives the boxes or ranges of
//! the files in its folder by name. Hidden files are skipped and listed in
//! [`UploadReport::skipped`].
//!
//! # Duplicates and retries
//!
//! By default the server is asked to refuse a file whose data the project already has
//! (`x-disallow-duplicates: 1`, as the Python SDK and the CLI do). That makes sending a
//! request again safe: a request that failed in transport, timed out or was answered 429 or
//! 5xx is retried with the client's [`RetryPolicy`] (or [`Upload::retry`]); a file that did
//! arrive the first time is then reported as a [`FileOutcome::Duplicate`] with
//! `after_retry: true`. With [`Upload::allow_duplicates`] only a request that provably never
//! reached the server (no connection, or 429) is sent again; any other failure is the
//! outcome of its files, with `may_be_stored` saying whether they may have arrived.
//!
//! # Before sending
//!
//! Every file is checked first; the upload does not start, and [`UploadError::Checks`] names
//! each file, when one is over 100 MiB, has an extension the service does not take (see
//! [`Upload::skip_unsupported`]), cannot be read, or when a `.labels` file is malformed.
//! A directory without a file to upload is [`UploadError::EmptyDirectory`].
//!
//! # Stopping
//!
//! The upload runs in the future it returns: dropping it stops sending (requests in flight
//! are cut off; their files may or may not have arrived).

mod daq;
mod plan;
mod report;
mod sample;
mod send;

use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

pub use daq::{DataAcquisition, DocumentError, DocumentFormat, Sensor};
pub use report::{CheckFailure, FileOutcome, FileReport, SkippedFile, UploadError, UploadProgress, UploadReport};
pub use sample::{BoundingBox, Category, Label, Sample, StructuredLabel};

use crate::{Client, RetryPolicy};

/// Files per request: the ingestion service takes at most 1000.
pub const MAX_FILES_PER_REQUEST: usize = 1000;
/// Default byte budget of one request (a larger file is sent alone).
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 64 * 1024 * 1024;
/// Default number of requests in flight.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Default time limit for one request, sending included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10 * 60);

type ProgressCallback = Arc<dyn Fn(&UploadProgress) + Send + Sync>;

impl Client {
    /// An upload of samples to the project of the client's API key, through the ingestion
    /// service. See [`upload`](crate::upload).
    pub fn upload(&self) -> Upload<'_> {
        Upload {
            client: self,
            samples: Vec::new(),
            directories: Vec::new(),
            defaults: plan::Defaults::default(),
            concurrency: DEFAULT_CONCURRENCY,
            settings: send::SendSettings {
                max_files: MAX_FILES_PER_REQUEST,
                max_bytes: DEFAULT_MAX_REQUEST_BYTES,
                allow_duplicates: false,
                add_date_id: false,
                retry: self.retry_policy().clone(),
                timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            },
            on_progress: None,
        }
    }
}

/// An upload being set up; `.await` it to send. See [`upload`](crate::upload).
#[must_use = "an upload does nothing until it is awaited"]
pub struct Upload<'c> {
    client: &'c Client,
    samples: Vec<Sample>,
    directories: Vec<PathBuf>,
    defaults: plan::Defaults,
    concurrency: usize,
    settings: send::SendSettings,
    on_progress: Option<ProgressCallback>,
}

impl std::fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("samples", &self.samples.len())
            .field("directories", &self.directories)
            .field("defaults", &self.defaults)
            .field("concurrency", &self.concurrency)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<'c> Upload<'c> {
    /// Adds files on disk (a `.labels` file among them describes the others of its folder).
    pub fn files<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.samples.extend(paths.into_iter().map(|path| Sample::from_path(path.into())));
        self
    }

    /// Adds one sample.
    pub fn sample(mut self, sample: Sample) -> Self {
        self.samples.push(sample);
        self
    }

    /// Adds samples.
    pub fn samples(mut self, samples: impl IntoIterator<Item = Sample>) -> Self {
        self.samples.extend(samples);
        self
    }

    /// Adds every file below a directory (see [Directories](crate::upload#directories)).
    pub fn directory(mut self, path: impl Into<PathBuf>) -> Self {
        self.directories.push(path.into());
        self
    }

    /// The category of files that name none (default [`Category::Split`]).
    pub fn category(mut self, category: Category) -> Self {
        self.defaults.category = category;
        self
    }

    /// The label of files that have none of their own (by default the server infers it
    /// from the file name).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.defaults.label = Label::Named(label.into());
        self
    }

    /// Files without a label of their own are unlabeled.
    pub fn no_label(mut self) -> Self {
        self.defaults.label = Label::None;
        self
    }

    /// Metadata for every file (a file's own keys win).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.defaults.metadata.insert(key.into(), value.into());
        self
    }

    /// Lets the project store a file whose data it already has (refused by default, which
    /// also makes retries safe: see [Duplicates and retries](crate::upload#duplicates-and-retries)).
    pub fn allow_duplicates(mut self, allow: bool) -> Self {
        self.settings.allow_duplicates = allow;
        self
    }

    /// Asks the server to add a date and id to each sample's name (`x-add-date-id: 1`).
    pub fn add_date_id(mut self, add: bool) -> Self {
        self.settings.add_date_id = add;
        self
    }

    /// Leaves out (and lists in [`UploadReport::skipped`]) a directory's files whose
    /// extension the service does not take, instead of failing the checks.
    pub fn skip_unsupported(mut self, skip: bool) -> Self {
        self.defaults.skip_unsupported = skip;
        self
    }

    /// Requests in flight at once (default [`DEFAULT_CONCURRENCY`]).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// Files per request, at most [`MAX_FILES_PER_REQUEST`] (the default).
    pub fn max_files_per_request(mut self, files: usize) -> Self {
        self.settings.max_files = files.clamp(1, MAX_FILES_PER_REQUEST);
        self
    }

    /// Bytes of file data per request (default [`DEFAULT_MAX_REQUEST_BYTES`]); a larger
    /// file is sent alone.
    pub fn max_request_bytes(mut self, bytes: u64) -> Self {
        self.settings.max_bytes = bytes;
        self
    }

    /// The retry policy of the requests (default: the client's).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// The time limit of one request, sending its files included (default
    /// [`DEFAULT_REQUEST_TIMEOUT`]; `None`: no limit).
    pub fn request_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.timeout = timeout.into();
        self
    }

    /// Called before the first request and after each answer.
    pub fn on_progress(mut self, callback: impl Fn(&UploadProgress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(callback));
        self
    }

    async fn run(self) -> Result<UploadReport, UploadError> {
        let plan = plan::plan(self.samples, self.directories, self.defaults).await?;
        let files = plan.files;
        let batches = send::batches(&files, &self.settings);
        let mut progress = UploadProgress {
            files_total: files.len() as u64,
            bytes_total: files.iter().map(|f| f.size).sum(),
            ..UploadProgress::default()
        };
        let notify = |progress: &UploadProgress| {
            if let Some(callback) = &self.on_progress {
                callback(progress);
            }
        };
        notify(&progress);

        let started = Instant::now();
        let mut outcomes: Vec<Option<FileOutcome>> = vec![None; files.len()];
        let (mut requests, mut retries) = (0u64, 0u64);
        let client = self.client;
        let settings = &self.settings;
        let files_ref = &files;
        let batches_ref = &batches;
        // By index: a closure taking `&Batch` would have to work for any lifetime, which the
        // boxed `Send` future cannot prove.
        let mut sent = futures_util::stream::iter(0..batches.len())
            .map(|i| async move { (&batches_ref[i], send::send_with_retry(client, &batches_ref[i], files_ref, settings).await) })
            .buffer_unordered(self.concurrency);
        while let Some((batch, result)) = sent.next().await {
            requests += u64::from(result.attempts);
            retries += u64::from(result.attempts.saturating_sub(1));
            for (&index, outcome) in batch.files.iter().zip(result.outcomes) {
                match &outcome {
                    FileOutcome::Uploaded { .. } => progress.uploaded += 1,
                    FileOutcome::Duplicate { .. } => progress.duplicates += 1,
                    FileOutcome::Failed { .. } => progress.failed += 1,
                }
                progress.files_done += 1;
                progress.bytes_done += files[index].size;
                outcomes[index] = Some(outcome);
            }
            notify(&progress);
        }
        drop(sent);

        let reports = files
            .into_iter()
            .zip(outcomes)
            .map(|(file, outcome)| FileReport {
                // Every batch answers for each of its files; a file in no batch cannot be.
                outcome: outcome.unwrap_or(FileOutcome::Failed {
                    message: "not sent".to_owned(),
                    status: None,
                    may_be_stored: false,
                }),
                file_name: file.name,
                path: file.path,
                category: file.category,
                bytes: file.size,
            })
            .collect::<Vec<_>>();
        Ok(UploadReport {
            bytes: progress.bytes_total,
            files: reports,
            skipped: plan.skipped,
            requests,
            retries,
            elapsed: started.elapsed(),
        })
    }
}

impl<'c> IntoFuture for Upload<'c> {
    type Output = Result<UploadReport, UploadError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

