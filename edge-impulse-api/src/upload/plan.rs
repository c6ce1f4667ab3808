//! From samples and directories to the list of files to send: labels files read, settings
//! resolved, every file checked before anything is sent.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::report::{CheckFailure, SkippedFile, UploadError};
use super::sample::{BoundingBox, Category, Label, Sample, Source, StructuredLabel};

/// File extensions the ingestion service takes (besides `.labels`), from its documentation.
pub(crate) const SUPPORTED: &[&str] = &["json", "cbor", "csv", "wav", "jpg", "jpeg", "png", "mp4", "avi"];

/// The ingestion service refuses larger files.
pub(crate) const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// One file to send, with everything its request needs.
#[derive(Debug)]
pub(crate) struct Planned {
    pub name: String,
    /// On disk (read when sent), unless `data` holds it.
    pub path: Option<PathBuf>,
    pub data: Option<Bytes>,
    pub size: u64,
    pub category: Category,
    pub label: Label,
    /// The `x-metadata` JSON, shared by the files that have the same.
    pub metadata: Option<Arc<str>>,
    pub bounding_boxes: Option<Vec<BoundingBox>>,
    pub structured_labels: Option<Vec<StructuredLabel>>,
}

/// The upload's settings for samples that have none of their own.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub category: Category,
    pub label: Label,
    pub metadata: BTreeMap<String, String>,
    pub skip_unsupported: bool,
}

/// What a `.labels` file says about one file.
#[derive(Debug, Default, Clone)]
struct Annotation {
    category: Option<Category>,
    label: Option<Label>,
    metadata: BTreeMap<String, String>,
    bounding_boxes: Option<Vec<BoundingBox>>,
    structured_labels: Option<Vec<StructuredLabel>>,
}

/// Annotations by the path of the file they describe.
type Annotations = HashMap<PathBuf, Annotation>;

pub(crate) struct Plan {
    pub files: Vec<Planned>,
    pub skipped: Vec<SkippedFile>,
}

/// Reads readers, scans directories, reads labels files and checks every file.
pub(crate) async fn plan(samples: Vec<Sample>, directories: Vec<PathBuf>, defaults: Defaults) -> Result<Plan, UploadError> {
    if samples.is_empty() && directories.is_empty() {
        return Err(UploadError::Nothing);
    }
    let mut failures = Vec::new();
    // Readers first (they are async); the rest is file system work, done off the runtime.
    let mut ready = Vec::with_capacity(samples.len());
    for mut sample in samples {
        if let Source::Reader(reader) = &mut sample.source {
            let mut data = Vec::new();
            // One byte over the limit is enough to say it is too large.
            match reader.take(MAX_FILE_BYTES + 1).read_to_end(&mut data).await {
                Ok(_) => sample.source = Source::Bytes(data.into()),
                Err(e) => {
                    failures.push(CheckFailure { path: sample.file_name.clone().into(), problem: format!("unreadable: {e}") });
                    continue;
                }
            }
        }
        ready.push(sample);
    }
    let planned = tokio::task::spawn_blocking(move || plan_blocking(ready, directories, defaults, failures)).await;
    match planned {
        Ok(result) => result,
        // Only a panic ends the task early; say so rather than pass it on.
        Err(e) => Err(UploadError::Checks(vec![CheckFailure { path: PathBuf::new(), problem: format!("checking the files stopped: {e}") }])),
    }
}

fn plan_blocking(samples: Vec<Sample>, directories: Vec<PathBuf>, defaults: Defaults, mut failures: Vec<CheckFailure>) -> Result<Plan, UploadError> {
    let mut metadata_cache = MetadataCache::default();
    let mut files = Vec::new();
    let mut skipped = Vec::new();

    // `.labels` files given among the files describe the other files given.
    let mut annotations = Annotations::new();
    let mut given = Vec::with_capacity(samples.len());
    for sample in samples {
        match &sample.source {
            Source::Path(path) if extension(path).as_deref() == Some("labels") => read_labels(path, &mut annotations, &mut failures),
            _ => given.push(sample),
        }
    }
    for sample in given {
        let annotation = match &sample.source {
            Source::Path(path) => annotations.get(path).cloned(),
            _ => None,
        };
        let directory_category = None;
        if let Some(file) = check_sample(sample, annotation, directory_category, &defaults, &mut metadata_cache, &mut failures) {
            files.push(file);
        }
    }

    for root in directories {
        let before = files.len();
        scan_directory(&root, &defaults, &mut metadata_cache, &mut files, &mut skipped, &mut failures);
        if files.len() == before && failures.is_empty() {
            return Err(UploadError::EmptyDirectory(root));
        }
    }
    if !failures.is_empty() {
        return Err(UploadError::Checks(failures));
    }
    Ok(Plan { files, skipped })
}

/// One directory, recursively, in path order.
fn scan_directory(
    root: &Path,
    defaults: &Defaults,
    metadata_cache: &mut MetadataCache,
    files: &mut Vec<Planned>,
    skipped: &mut Vec<SkippedFile>,
    failures: &mut Vec<CheckFailure>,
) {
    let mut found = Vec::new();
    let mut labels_files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                failures.push(CheckFailure { path: dir, problem: format!("unreadable directory: {e}") });
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    failures.push(CheckFailure { path: dir.clone(), problem: format!("unreadable directory: {e}") });
                    continue;
                }
            };
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            // Follows symbolic links, as a user listing the folder would expect.
            let is_dir = std::fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
            if hidden {
                skipped.push(SkippedFile { path, reason: "hidden".to_owned() });
            } else if is_dir {
                pending.push(path);
            } else if extension(&path).as_deref() == Some("labels") {
                labels_files.push(path);
            } else {
                found.push(path);
            }
        }
    }
    labels_files.sort();
    let mut annotations = Annotations::new();
    for path in &labels_files {
        read_labels(path, &mut annotations, failures);
    }
    // Files an `info.labels` lists are uploaded even when a scan would not find them, so
    // that a missing one is an error rather than left out.
    if !annotations.is_empty() {
        let scanned: std::collections::HashSet<&PathBuf> = found.iter().collect();
        let missing: Vec<PathBuf> = annotations.keys().filter(|listed| listed.starts_with(root) && !scanned.contains(listed)).cloned().collect();
        found.extend(missing);
    }
    found.sort();
    for path in found {
        let supported = extension(&path).is_some_and(|e| SUPPORTED.contains(&e.as_str()));
        if !supported && defaults.skip_unsupported && !annotations.contains_key(&path) {
            skipped.push(SkippedFile { reason: unsupported_reason(&path), path });
            continue;
        }
        let category = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .find_map(|segment| Category::from_name(segment).filter(|c| *c != Category::Split));
        let annotation = annotations.get(&path).cloned();
        let sample = Sample::from_path(&path);
        if let Some(file) = check_sample(sample, annotation, category, defaults, metadata_cache, failures) {
            files.push(file);
        }
    }
}

/// Resolves a sample's settings and checks it; `None` (and a failure recorded) when it
/// cannot be sent.
fn check_sample(
    sample: Sample,
    annotation: Option<Annotation>,
    directory_category: Option<Category>,
    defaults: &Defaults,
    metadata_cache: &mut MetadataCache,
    failures: &mut Vec<CheckFailure>,
) -> Option<Planned> {
    let annotation = annotation.unwrap_or_default();
    let (path, data, size) = match sample.source {
        Source::Path(path) => {
            let size = match check_file(&path) {
                Ok(size) => size,
                Err(problem) => {
                    failures.push(CheckFailure { path, problem });
                    return None;
                }
            };
            (Some(path), None, size)
        }
        Source::Bytes(data) => (None, Some(data.clone()), data.len() as u64),
        Source::Reader(_) => {
            // `plan` reads every reader into memory first; this is never reached.
            failures.push(CheckFailure { path: sample.file_name.into(), problem: "the reader was not read".to_owned() });
            return None;
        }
    };
    let shown = || path.clone().unwrap_or_else(|| PathBuf::from(&sample.file_name));
    let name_extension = extension(Path::new(&sample.file_name));
    if !name_extension.as_deref().is_some_and(|e| SUPPORTED.contains(&e)) {
        failures.push(CheckFailure { path: shown(), problem: unsupported_reason(Path::new(&sample.file_name)) });
        return None;
    }
    if size > MAX_FILE_BYTES {
        failures.push(CheckFailure { path: shown(), problem: format!("{size} bytes, over the ingestion service's limit of {MAX_FILE_BYTES} bytes (100 MiB) per file") });
        return None;
    }
    let mut metadata = defaults.metadata.clone();
    metadata.extend(annotation.metadata);
    metadata.extend(sample.metadata);
    Some(Planned {
        name: sample.file_name,
        path,
        data,
        size,
        category: sample.category.or(annotation.category).or(directory_category).unwrap_or(defaults.category),
        label: sample.label.or(annotation.label).unwrap_or_else(|| defaults.label.clone()),
        metadata: metadata_cache.get(&metadata),
        bounding_boxes: sample.bounding_boxes.or(annotation.bounding_boxes),
        structured_labels: sample.structured_labels.or(annotation.structured_labels),
    })
}

/// The file's size, or why it cannot be read.
fn check_file(path: &Path) -> Result<u64, String> {
    let metadata = std::fs::metadata(path).map_err(|e| format!("unreadable: {e}"))?;
    if metadata.is_dir() {
        return Err("is a directory (upload it with Upload::directory)".to_owned());
    }
    // Opening proves the permissions; the file is read again when its request is sent.
    std::fs::File::open(path).map_err(|e| format!("unreadable: {e}"))?;
    Ok(metadata.len())
}

fn extension(path: &Path) -> Option<String> {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase())
}

fn unsupported_reason(path: &Path) -> String {
    let found = match extension(path) {
        Some(e) => format!("unsupported extension `.{e}`"),
        None => "no file extension".to_owned(),
    };
    format!("{found} (the ingestion service takes {})", SUPPORTED.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(", "))
}

/// `x-metadata` values, one allocation per distinct set of metadata.
#[derive(Default)]
struct MetadataCache {
    seen: HashMap<BTreeMap<String, String>, Arc<str>>,
}

impl MetadataCache {
    fn get(&mut self, metadata: &BTreeMap<String, String>) -> Option<Arc<str>> {
        if metadata.is_empty() {
            return None;
        }
        if let Some(json) = self.seen.get(metadata) {
            return Some(json.clone());
        }
        let json: Arc<str> = ascii_json(metadata).into();
        self.seen.insert(metadata.clone(), json.clone());
        Some(json)
    }
}

/// JSON with every non-ASCII character escaped (`\u00e9`): an HTTP header carries ASCII
/// only, and the escaped JSON means the same to the server.
pub(crate) fn ascii_json(value: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

// The `.labels` formats of the Edge Impulse exporter and uploader: `info.labels` lists every
// file of an exported dataset; `bounding_boxes.labels` and `structured_labels.labels` give
// the boxes or ranges of the files in their folder, by file name.

#[derive(Deserialize)]
struct InfoLabels {
    #[allow(dead_code)] // read to reject a file that is not one
    version: u32,
    files: Vec<InfoEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InfoEntry {
    path: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    label: Option<InfoLabel>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "boxes")]
    bounding_boxes: Vec<BoundingBox>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum InfoLabel {
    Label { label: String },
    Unlabeled,
    MultiLabel { labels: Vec<StructuredLabel> },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedLabels {
    #[allow(dead_code)] // read to reject a file that is not one
    version: u32,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    bounding_boxes: Option<BTreeMap<String, BoxList>>,
    #[serde(default)]
    structured_labels: Option<BTreeMap<String, Vec<StructuredLabel>>>,
}

#[derive(Deserialize)]
struct BoxList(#[serde(deserialize_with = "boxes")] Vec<BoundingBox>);

/// Boxes whose coordinates may be written as floats (some tools do), rounded to pixels.
fn boxes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<BoundingBox>, D::Error> {
    #[derive(Deserialize)]
    struct Loose {
        label: String,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
    }
    let loose = Vec::<Loose>::deserialize(deserializer)?;
    Ok(loose
        .into_iter()
        .map(|b| BoundingBox::new(b.label, b.x.round() as i64, b.y.round() as i64, b.width.round() as i64, b.height.round() as i64))
        .collect())
}

/// Reads one `.labels` file into `annotations`; a malformed one is a failure naming the file
/// and the JSON path.
fn read_labels(path: &Path, annotations: &mut Annotations, failures: &mut Vec<CheckFailure>) {
    let mut fail = |problem: String| failures.push(CheckFailure { path: path.to_path_buf(), problem });
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return fail(format!("unreadable: {e}")),
    };
    let folder = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => return fail(format!("malformed labels file: not JSON ({e})")),
    };
    if value.get("files").is_some() {
        let info: InfoLabels = match decode(&bytes) {
            Ok(info) => info,
            Err(e) => return fail(format!("malformed info.labels: {e}")),
        };
        for entry in info.files {
            let category = match entry.category.as_deref() {
                None => None,
                Some(name) => match Category::from_name(name) {
                    Some(category) => Some(category),
                    None => return fail(format!("malformed info.labels: category `{name}` of `{}` is not training, testing, anomaly or split", entry.path)),
                },
            };
            let (label, structured_labels) = match entry.label {
                None => (None, None),
                Some(InfoLabel::Label { label }) => (Some(Label::Named(label)), None),
                Some(InfoLabel::Unlabeled) => (Some(Label::None), None),
                // The ranges carry the labels; the request's label is left to the server.
                Some(InfoLabel::MultiLabel { labels }) => (None, Some(labels)),
            };
            let annotation = Annotation {
                category,
                label,
                metadata: entry.metadata,
                bounding_boxes: (!entry.bounding_boxes.is_empty()).then_some(entry.bounding_boxes),
                structured_labels,
            };
            annotations.insert(folder.join(&entry.path), annotation);
        }
        return;
    }
    let typed: TypedLabels = match decode(&bytes) {
        Ok(typed) => typed,
        Err(e) => return fail(format!("malformed labels file: {e}")),
    };
    match (typed.kind.as_str(), typed.bounding_boxes, typed.structured_labels) {
        ("bounding-box-labels", Some(boxes), _) => {
            for (name, BoxList(list)) in boxes {
                annotations.entry(folder.join(name)).or_default().bounding_boxes = Some(list);
            }
        }
        ("structured-labels", _, Some(labels)) => {
            for (name, list) in labels {
                annotations.entry(folder.join(name)).or_default().structured_labels = Some(list);
            }
        }
        ("bounding-box-labels", None, _) => fail("malformed labels file: `boundingBoxes` is missing".to_owned()),
        ("structured-labels", _, None) => fail("malformed labels file: `structuredLabels` is missing".to_owned()),
        (other, _, _) => fail(format!("malformed labels file: unknown type `{other}` (expected an info.labels file, `bounding-box-labels` or `structured-labels`)")),
    }
}

/// A typed decode whose error names the JSON path that failed.
fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))
}
