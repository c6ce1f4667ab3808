//! Files grouped into requests, each request sent (and retried), its answer turned into an
//! outcome per file.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Map, Value};

use super::plan::{ascii_json, Planned};
use super::report::FileOutcome;
use super::sample::{BoundingBox, Category, Label, StructuredLabel};
use crate::ingestion::models::{self, UploadFilesResponse};
use crate::multipart::FilePart;
use crate::{Client, Error, RetryPolicy};

/// How requests are made and sent.
#[derive(Debug, Clone)]
pub(crate) struct SendSettings {
    pub max_files: usize,
    pub max_bytes: u64,
    pub allow_duplicates: bool,
    pub add_date_id: bool,
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
}

/// One request: files that share category, label and metadata (the request's path and
/// headers), with the `.labels` parts describing their boxes and ranges.
#[derive(Debug)]
pub(crate) struct Batch {
    pub category: Category,
    pub label: Label,
    pub metadata: Option<Arc<str>>,
    /// Indices into the planned files.
    pub files: Vec<usize>,
    pub bytes: u64,
}

/// Groups the files into requests of at most `max_files` parts and about `max_bytes` (a
/// larger file goes alone), no two files of the same name in one request (the answer and
/// the `.labels` parts name files).
pub(crate) fn batches(files: &[Planned], settings: &SendSettings) -> Vec<Batch> {
    let key = |index: usize| {
        let file = &files[index];
        (file.category, &file.label, file.metadata.as_deref())
    };
    let mut order: Vec<usize> = (0..files.len()).collect();
    // Stable: the files of a request keep the order they were given in.
    order.sort_by(|&a, &b| key(a).cmp(&key(b)));
    let mut batches: Vec<Batch> = Vec::new();
    let mut names = HashSet::new();
    let (mut boxes, mut ranges) = (false, false);
    for index in order {
        let file = &files[index];
        let same_group = batches.last().and_then(|batch| batch.files.first()).is_some_and(|&first| key(first) == key(index));
        let with_boxes = boxes || file.bounding_boxes.is_some();
        let with_ranges = ranges || file.structured_labels.is_some();
        let full = batches.last().is_some_and(|batch| {
            // The `.labels` parts count as files of the request.
            let parts = batch.files.len() + 1 + usize::from(with_boxes) + usize::from(with_ranges);
            parts > settings.max_files.max(1) || batch.bytes + file.size > settings.max_bytes || names.contains(file.name.as_str())
        });
        if !same_group || full {
            batches.push(Batch { category: file.category, label: file.label.clone(), metadata: file.metadata.clone(), files: Vec::new(), bytes: 0 });
            names.clear();
            (boxes, ranges) = (false, false);
        }
        // Always there: a batch was pushed above when there was none.
        let Some(batch) = batches.last_mut() else { continue };
        boxes |= file.bounding_boxes.is_some();
        ranges |= file.structured_labels.is_some();
        names.insert(file.name.as_str());
        batch.files.push(index);
        batch.bytes += file.size;
    }
    batches
}

/// A request's path, headers and parts, made once and sent again on a retry (files are
/// opened anew).
#[derive(Debug)]
pub(crate) struct BatchRequest {
    pub category: Category,
    pub label: Label,
    pub metadata: Option<Arc<str>>,
    pub parts: Vec<FilePart>,
}

impl BatchRequest {
    /// The request for the files of `batch` that are `Prepared` to be sent (one entry per file
    /// of the batch; the data read ahead is taken out).
    pub(crate) fn new(batch: &Batch, files: &[Planned], prepared: &mut [Prepared]) -> Self {
        let mut parts = Vec::with_capacity(batch.files.len() + 2);
        let (mut boxes, mut ranges) = (Map::new(), Map::new());
        for (&index, prepared) in batch.files.iter().zip(prepared) {
            // An unreadable file keeps its entry (its outcome) and gets no part.
            if matches!(prepared, Prepared::Unreadable(_)) {
                continue;
            }
            let file = &files[index];
            let part = match (std::mem::replace(prepared, Prepared::Stream), &file.data, &file.path) {
                (_, Some(data), _) => FilePart::from_bytes(data.clone()),
                (Prepared::Read(data), None, _) => FilePart::from_bytes(data),
                (_, None, Some(path)) => FilePart::from_path(path),
                (_, None, None) => FilePart::from_bytes(Bytes::new()),
            };
            parts.push(part.file_name(file.name.clone()).content_type(content_type(&file.name)));
            if let Some(list) = &file.bounding_boxes {
                boxes.insert(file.name.clone(), list.iter().map(BoundingBox::to_json).collect());
            }
            if let Some(list) = &file.structured_labels {
                ranges.insert(file.name.clone(), list.iter().map(StructuredLabel::to_json).collect());
            }
        }
        if !boxes.is_empty() {
            parts.push(labels_part("bounding_boxes.labels", "bounding-box-labels", "boundingBoxes", boxes));
        }
        if !ranges.is_empty() {
            parts.push(labels_part("structured_labels.labels", "structured-labels", "structuredLabels", ranges));
        }
        BatchRequest { category: batch.category, label: batch.label.clone(), metadata: batch.metadata.clone(), parts }
    }
}

/// A `.labels` part in the exporter's format: `{"version": 1, "type": .., key: {file: [..]}}`.
fn labels_part(name: &str, kind: &str, key: &str, by_file: Map<String, Value>) -> FilePart {
    let mut labels = Map::new();
    labels.insert("version".to_owned(), Value::from(1));
    labels.insert("type".to_owned(), Value::from(kind));
    labels.insert(key.to_owned(), Value::Object(by_file));
    FilePart::from_bytes(ascii_json(&Value::Object(labels)).into_bytes()).file_name(name).content_type("application/json")
}

fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "json" => "application/json",
        "cbor" => "application/cbor",
        "csv" => "text/csv",
        "wav" => "audio/wav",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "mp4" => "video/mp4",
        "avi" => "video/x-msvideo",
        _ => "application/octet-stream",
    }
}

/// Sends one request once with the generated `uploadFiles` call, the client's retries off
/// (the uploader decides what to send again).
pub(crate) async fn send_batch(client: &Client, request: &BatchRequest, settings: &SendSettings) -> crate::Result<UploadFilesResponse> {
    let form = models::UploadFilesForm::new(request.parts.clone());
    let mut call = client.ingestion().upload_files(models::Category::from(request.category.as_str()), form);
    match &request.label {
        Label::Inferred => {}
        Label::None => call = call.x_no_label(1),
        // Percent-encoded by the call, as the Edge Impulse CLI does (`encodeURIComponent`).
        Label::Named(label) => call = call.x_label(label),
    }
    if !settings.allow_duplicates {
        call = call.x_disallow_duplicates(1);
    }
    if settings.add_date_id {
        call = call.x_add_date_id(1);
    }
    if let Some(metadata) = &request.metadata {
        call = call.x_metadata(metadata);
    }
    let mut call = call.x_upload_source(UPLOAD_SOURCE).into_request();
    call.retry(RetryPolicy::disabled()).timeout(settings.timeout);
    call.await
}

/// `x-upload-source`, as the Python SDK names itself.
const UPLOAD_SOURCE: &str = "EDGE_IMPULSE_RUST_CLIENT";

/// What one request came to: an outcome per file of the batch, in its order.
pub(crate) struct Sent {
    pub outcomes: Vec<FileOutcome>,
    pub attempts: u32,
}

/// Files up to this size are read into memory just before their request is made (one
/// blocking task for all of them): streaming each from disk costs a few hops to tokio's
/// blocking pool per file, which made small files several times slower.
const READ_AHEAD_FILE: u64 = 64 * 1024;
/// At most this much is read ahead per request, so memory stays bounded by the requests in
/// flight, not by the number of files (a request of 1000 files of 2 KB fits).
const READ_AHEAD_REQUEST: u64 = 2 * 1024 * 1024;

/// A file of a request, before it is sent.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// Streamed from disk (or sent from memory) when its part is sent.
    Stream,
    /// Read ahead.
    Read(Bytes),
    /// Could not be read any more (changed since the checks): its outcome, not sent.
    Unreadable(String),
}

/// Reads the batch's small files, one entry per file of the batch; those that cannot be read
/// any more get their own outcome instead of failing the whole request.
async fn read_ahead(batch: &Batch, files: &[Planned]) -> Vec<Prepared> {
    let mut prepared: Vec<Prepared> = batch.files.iter().map(|_| Prepared::Stream).collect();
    let mut budget = READ_AHEAD_REQUEST;
    let mut wanted = Vec::new();
    for (position, &index) in batch.files.iter().enumerate() {
        let file = &files[index];
        if let (None, Some(path)) = (&file.data, &file.path) {
            if file.size <= READ_AHEAD_FILE && file.size <= budget {
                budget -= file.size;
                wanted.push((position, path.clone()));
            }
        }
    }
    if wanted.is_empty() {
        return prepared;
    }
    let read = tokio::task::spawn_blocking(move || {
        wanted
            .into_iter()
            .map(|(position, path)| match std::fs::read(&path) {
                Ok(bytes) => (position, Prepared::Read(bytes.into())),
                Err(e) => (position, Prepared::Unreadable(format!("reading {}: {e}", path.display()))),
            })
            .collect::<Vec<_>>()
    })
    .await;
    // A read task that did not finish leaves its files to be streamed.
    for (position, file) in read.unwrap_or_default() {
        prepared[position] = file;
    }
    prepared
}

/// Sends a request, retrying what the settings allow, and gives every file an outcome.
pub(crate) async fn send_with_retry(client: &Client, batch: &Batch, files: &[Planned], settings: &SendSettings) -> Sent {
    let mut prepared = read_ahead(batch, files).await;
    let request = BatchRequest::new(batch, files, &mut prepared);
    let sent: Vec<usize> = batch.files.iter().zip(&prepared).filter(|(_, p)| !matches!(p, Prepared::Unreadable(_))).map(|(&index, _)| index).collect();
    // The outcomes of the files sent, in order, with the unreadable ones in their places.
    let in_batch_order = |outcomes: Vec<FileOutcome>| {
        let mut outcomes = outcomes.into_iter();
        let not_sent = || FileOutcome::Failed { message: "not sent".to_owned(), status: None, may_be_stored: false };
        prepared
            .iter()
            .map(|p| match p {
                Prepared::Unreadable(message) => FileOutcome::Failed { message: message.clone(), status: None, may_be_stored: false },
                _ => outcomes.next().unwrap_or_else(not_sent),
            })
            .collect()
    };
    if sent.is_empty() {
        return Sent { outcomes: in_batch_order(Vec::new()), attempts: 0 };
    }
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match send_batch(client, &request, settings).await {
            Ok(answer) => return Sent { outcomes: in_batch_order(outcomes(client, &sent, files, answer, attempts)), attempts },
            Err(error) => error,
        };
        let failure = classify(&error);
        // With duplicates refused, a request the server did receive is refused file by file
        // when sent again, so any passing failure may be retried; with duplicates allowed
        // only one that provably never reached the server.
        let retry = if settings.allow_duplicates { failure.not_received } else { failure.passing };
        if retry {
            if let Some(delay) = settings.retry.next_delay(attempts, started.elapsed(), None) {
                tracing::debug!(attempt = attempts, ?delay, error = %error, "retrying an ingestion request");
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        let outcome = FileOutcome::Failed { message: failure_message(&error), status: error.status(), may_be_stored: !failure.not_received && failure.may_have_arrived };
        return Sent { outcomes: in_batch_order(vec![outcome; sent.len()]), attempts };
    }
}

/// A request's failure in one line: for a status, the server's words (the text of an HTML
/// page rather than its markup).
fn failure_message(error: &Error) -> String {
    let Error::Status { operation, status, messages, body } = error else {
        return error.to_string();
    };
    let text = if !messages.is_empty() {
        messages.join("; ")
    } else if body.trim_start().starts_with('<') {
        page_text(body)
    } else {
        body.lines().find(|line| !line.trim().is_empty()).unwrap_or("").trim().to_owned()
    };
    let text: String = text.chars().take(300).collect();
    match text.is_empty() {
        true => format!("{operation}: HTTP {status}"),
        false => format!("{operation}: HTTP {status}: {text}"),
    }
}

/// The words of an HTML page, without its tags, scripts and styles, spaces collapsed.
fn page_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag = &rest[open..];
        let lower = tag.get(..7).unwrap_or(tag).to_ascii_lowercase();
        // A script or style's content is not words of the page.
        let end = match ["<script", "<style"].iter().find(|t| lower.starts_with(**t)) {
            Some(t) => tag.find(&format!("</{}", &t[1..])).and_then(|at| tag[at..].find('>').map(|e| at + e)),
            None => tag.find('>'),
        };
        match end {
            Some(end) => rest = &tag[end + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    text.push_str(rest);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Failure {
    /// Worth another attempt: the connection, a timeout, 429 or a 5xx.
    passing: bool,
    /// The server provably did not take the request: no connection, or 429.
    not_received: bool,
    /// The server may have stored files before failing.
    may_have_arrived: bool,
}

fn classify(error: &Error) -> Failure {
    match error {
        Error::Transport { source, .. } => Failure { passing: true, not_received: source.is_connect(), may_have_arrived: !source.is_connect() },
        Error::Timeout { limit: crate::TimeLimit::Connect(_), .. } => Failure { passing: true, not_received: true, may_have_arrived: false },
        Error::Timeout { .. } => Failure { passing: true, not_received: false, may_have_arrived: true },
        Error::Status { status, .. } => {
            let status = *status;
            Failure { passing: status == 429 || status >= 500, not_received: status == 429, may_have_arrived: status >= 500 }
        }
        // A 200 that is not the expected answer: the request was processed.
        Error::Decode { .. } | Error::Api { .. } | Error::BodyTooLarge { .. } => Failure { passing: false, not_received: false, may_have_arrived: true },
        _ => Failure { passing: false, not_received: true, may_have_arrived: false },
    }
}

/// Server wording of a refused duplicate (the ingestion service answers "An item with this
/// hash already exists").
fn is_duplicate(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("already exists") || message.contains("duplicate")
}

/// Matches the answer's entries to the batch's files: by file name, then, for entries
/// without a name, in order. A file without an entry failed in a way nobody told.
fn outcomes(client: &Client, sent: &[usize], files: &[Planned], answer: UploadFilesResponse, attempts: u32) -> Vec<FileOutcome> {
    let text = |value: &String| client.redact_text(value);
    let Some(entries) = answer.files else {
        let why = match &answer.error {
            Some(error) => format!("the server answered without a per-file list: {}", text(error)),
            None => "the server answered 200 without the per-file list (`files`)".to_owned(),
        };
        return vec![FileOutcome::Failed { message: why, status: Some(200), may_be_stored: true }; sent.len()];
    };
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut unnamed = Vec::new();
    for (position, entry) in entries.iter().enumerate() {
        match entry.file_name.as_deref() {
            Some(name) => by_name.entry(name).or_default().push(position),
            None => unnamed.push(position),
        }
    }
    // First in first out per name.
    by_name.values_mut().for_each(|positions| positions.reverse());
    unnamed.reverse();
    sent.iter()
        .map(|&index| {
            let name = files[index].name.as_str();
            let position = by_name.get_mut(name).and_then(Vec::pop).or_else(|| unnamed.pop());
            let Some(entry) = position.map(|p| &entries[p]) else {
                return FileOutcome::Failed {
                    message: format!("the server's answer lists {} results for {} files and none for this one", entries.len(), sent.len()),
                    status: Some(200),
                    may_be_stored: true,
                };
            };
            if entry.success == Some(true) {
                return FileOutcome::Uploaded { sample_id: entry.sample_id };
            }
            let message = entry.error.as_ref().map(text).unwrap_or_else(|| "the server reported a failure without a reason".to_owned());
            if is_duplicate(&message) {
                FileOutcome::Duplicate { message, after_retry: attempts > 1 }
            } else {
                FileOutcome::Failed { message, status: None, may_be_stored: false }
            }
        })
        .collect()
}
