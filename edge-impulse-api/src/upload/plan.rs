//! From samples and directories to the list of files to send: labels files read, settings
//! resolved, every file checked before anything is sent.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::report::{CheckFailure, SkippedFile, UploadError};
use super::sample::{BoundingBox, Category, Label, Metadata, Sample, Source, StructuredLabel};

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
    pub metadata: Metadata,
    pub skip_unsupported: bool,
}

/// What a `.labels` file says about one file.
#[derive(Debug, Default, Clone)]
struct Annotation {
    category: Option<Category>,
    label: Option<Label>,
    metadata: Metadata,
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
    found.sort();
    if !annotations.is_empty() {
        let missing: Vec<PathBuf> = annotations.keys().filter(|listed| listed.starts_with(root) && found.binary_search(listed).is_err()).cloned().collect();
        if !missing.is_empty() {
            found.extend(missing);
            found.sort();
        }
    }
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
    metadata.merge(annotation.metadata);
    metadata.merge(sample.metadata);
    Some(Planned {
        name: sample.file_name,
        path,
        data,
        size,
        category: sample.category.or(annotation.category).or(directory_category).unwrap_or(defaults.category),
        label: sample.label.or(annotation.label).unwrap_or_else(|| defaults.label.clone()),
        metadata: metadata_cache.get(metadata),
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
    seen: HashSet<Arc<str>>,
}

impl MetadataCache {
    fn get(&mut self, metadata: Metadata) -> Option<Arc<str>> {
        if metadata.is_empty() {
            return None;
        }
        let json = ascii_json(&metadata.into_json());
        if let Some(shared) = self.seen.get(json.as_str()) {
            return Some(shared.clone());
        }
        let shared: Arc<str> = json.into();
        self.seen.insert(shared.clone());
        Some(shared)
    }
}

/// JSON with every non-ASCII character escaped (`\u00e9`): an HTTP header carries ASCII
/// only, and the escaped JSON means the same to the server.
pub(crate) fn ascii_json(value: &Value) -> String {
    let json = value.to_string();
    if json.is_ascii() {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
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
// the boxes or ranges of the files in their folder, by file name. They are read by hand from
// a `serde_json::Value` (which the crate decodes anyway) rather than through derived
// deserializers: those cost the debug build more than the rest of the uploader together.

/// Reads one `.labels` file into `annotations`; a malformed one is a failure naming the file
/// and the JSON path.
fn read_labels(path: &Path, annotations: &mut Annotations, failures: &mut Vec<CheckFailure>) {
    let mut fail = |problem: String| failures.push(CheckFailure { path: path.to_path_buf(), problem });
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return fail(format!("unreadable: {e}")),
    };
    if let Err(problem) = parse_labels(&bytes, path.parent().unwrap_or(Path::new("")), annotations) {
        fail(problem);
    }
}

/// A `.labels` file's annotations, for the files of `folder`.
fn parse_labels(bytes: &[u8], folder: &Path, annotations: &mut Annotations) -> Result<(), String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("malformed labels file: not JSON ({e})"))?;
    let root = Node { value: &value, path: String::new() };
    match value.get("files") {
        Some(_) => read_info_labels(&root, folder, annotations).map_err(|e| format!("malformed info.labels: {e}")),
        None => read_typed_labels(&root, folder, annotations).map_err(|e| format!("malformed labels file: {e}")),
    }
}

fn read_info_labels(root: &Node<'_>, folder: &Path, annotations: &mut Annotations) -> Result<(), String> {
    root.field("version")?.number()?;
    for entry in root.field("files")?.array()? {
        let path = entry.field("path")?.string()?;
        let category = match entry.optional("category")? {
            None => None,
            Some(node) => {
                let name = node.string()?;
                let category = Category::from_name(name);
                Some(category.ok_or_else(|| format!("category `{name}` of `{path}` is not training, testing, anomaly or split"))?)
            }
        };
        let (label, structured_labels) = match entry.optional("label")? {
            None => (None, None),
            Some(label) => match label.field("type")?.string()? {
                "label" => (Some(Label::Named(label.field("label")?.string()?.to_owned())), None),
                "unlabeled" => (Some(Label::None), None),
                // The ranges carry the labels; the request's label is left to the server.
                "multi-label" => (None, Some(structured_labels(&label.field("labels")?)?)),
                other => return Err(label.error(format!("unknown label type `{other}` (expected `label`, `unlabeled` or `multi-label`)"))),
            },
        };
        let mut metadata = Metadata::default();
        if let Some(node) = entry.optional("metadata")? {
            for (key, value) in node.object()? {
                metadata.insert(key.to_owned(), value.string()?.to_owned());
            }
        }
        let bounding_boxes = match entry.optional("boundingBoxes")? {
            Some(node) => Some(bounding_boxes(&node)?).filter(|list| !list.is_empty()),
            None => None,
        };
        let annotation = Annotation { category, label, metadata, bounding_boxes, structured_labels };
        annotations.insert(folder.join(path), annotation);
    }
    Ok(())
}

fn read_typed_labels(root: &Node<'_>, folder: &Path, annotations: &mut Annotations) -> Result<(), String> {
    root.field("version")?.number()?;
    match root.field("type")?.string()? {
        "bounding-box-labels" => {
            for (name, list) in root.field("boundingBoxes")?.object()? {
                annotations.entry(folder.join(name)).or_default().bounding_boxes = Some(bounding_boxes(&list)?);
            }
        }
        "structured-labels" => {
            for (name, list) in root.field("structuredLabels")?.object()? {
                annotations.entry(folder.join(name)).or_default().structured_labels = Some(structured_labels(&list)?);
            }
        }
        other => return Err(format!("unknown type `{other}` (expected an info.labels file, `bounding-box-labels` or `structured-labels`)")),
    }
    Ok(())
}

/// Boxes whose coordinates may be written as floats (some tools do), rounded to pixels.
fn bounding_boxes(list: &Node<'_>) -> Result<Vec<BoundingBox>, String> {
    let pixels = |node: &Node<'_>, key| node.field(key)?.number().map(|n| n.round() as i64);
    list.array()?
        .map(|b| Ok(BoundingBox::new(b.field("label")?.string()?, pixels(&b, "x")?, pixels(&b, "y")?, pixels(&b, "width")?, pixels(&b, "height")?)))
        .collect()
}

fn structured_labels(list: &Node<'_>) -> Result<Vec<StructuredLabel>, String> {
    list.array()?
        .map(|range| Ok(StructuredLabel::new(range.field("label")?.string()?, range.field("startIndex")?.index()?, range.field("endIndex")?.index()?)))
        .collect()
}

/// A value of a labels file and where it is (`files[2].boundingBoxes[0].x`), for errors.
struct Node<'v> {
    value: &'v Value,
    path: String,
}

impl<'v> Node<'v> {
    fn error(&self, problem: String) -> String {
        match self.path.is_empty() {
            true => problem,
            false => format!("at `{}`: {problem}", self.path),
        }
    }

    fn child(&self, step: std::fmt::Arguments<'_>, value: &'v Value) -> Node<'v> {
        let path = match self.path.is_empty() {
            true => step.to_string().trim_start_matches('.').to_owned(),
            false => format!("{}{step}", self.path),
        };
        Node { value, path }
    }

    /// A member that may be absent or `null`.
    fn optional(&self, key: &str) -> Result<Option<Node<'v>>, String> {
        let Value::Object(object) = self.value else {
            return Err(self.error(format!("expected an object, found {}", kind(self.value))));
        };
        Ok(object.get(key).filter(|v| !v.is_null()).map(|v| self.child(format_args!(".{key}"), v)))
    }

    fn field(&self, key: &str) -> Result<Node<'v>, String> {
        self.optional(key)?.ok_or_else(|| self.error(format!("missing field `{key}`")))
    }

    fn string(&self) -> Result<&'v str, String> {
        self.value.as_str().ok_or_else(|| self.error(format!("expected a string, found {}", kind(self.value))))
    }

    fn number(&self) -> Result<f64, String> {
        self.value.as_f64().ok_or_else(|| self.error(format!("expected a number, found {}", kind(self.value))))
    }

    fn index(&self) -> Result<u64, String> {
        self.value.as_u64().ok_or_else(|| self.error(format!("expected a whole number of 0 or more, found {}", kind(self.value))))
    }

    fn array(&self) -> Result<impl Iterator<Item = Node<'v>> + '_, String> {
        let list = self.value.as_array().ok_or_else(|| self.error(format!("expected an array, found {}", kind(self.value))))?;
        Ok(list.iter().enumerate().map(|(i, v)| self.child(format_args!("[{i}]"), v)))
    }

    fn object(&self) -> Result<impl Iterator<Item = (&'v str, Node<'v>)> + '_, String> {
        let object = self.value.as_object().ok_or_else(|| self.error(format!("expected an object, found {}", kind(self.value))))?;
        Ok(object.iter().map(|(k, v)| (k.as_str(), self.child(format_args!(".{k}"), v))))
    }
}

/// What a JSON value is, with its text when it is short (`string "1"`).
fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) if s.len() <= 40 => format!("string {s:?}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Annotations, String> {
        let mut annotations = Annotations::new();
        parse_labels(json.as_bytes(), Path::new("data"), &mut annotations).map(|()| annotations)
    }

    fn annotation<'a>(annotations: &'a Annotations, file: &str) -> &'a Annotation {
        annotations.get(&Path::new("data").join(file)).unwrap_or_else(|| panic!("no annotation for {file}"))
    }

    #[test]
    fn an_info_labels_file_gives_each_file_its_category_label_metadata_and_boxes() {
        let annotations = parse(
            r#"{"version": 1, "files": [
                {"path": "training/idle.1.json", "category": "training", "label": {"type": "label", "label": "idle"},
                 "metadata": {"site": "Zürich"}},
                {"path": "noise.wav", "category": null, "label": {"type": "unlabeled"}, "metadata": null},
                {"path": "wave.json", "label": {"type": "multi-label", "labels": [{"label": "up", "startIndex": 0, "endIndex": 9}]}},
                {"path": "cat.jpg", "category": "testing", "boundingBoxes": [{"label": "cat", "x": 1.4, "y": 2.6, "width": 10, "height": 20}]}
            ]}"#,
        )
        .unwrap();
        let idle = annotation(&annotations, "training/idle.1.json");
        assert_eq!((idle.category, idle.label.clone()), (Some(Category::Training), Some(Label::Named("idle".into()))));
        assert_eq!(idle.metadata.get("site"), Some("Zürich"));
        assert_eq!(format!("{:?}", idle.metadata), r#"{"site": "Zürich"}"#);
        let noise = annotation(&annotations, "noise.wav");
        assert_eq!((noise.category, noise.label.clone(), noise.metadata.is_empty()), (None, Some(Label::None), true));
        let wave = annotation(&annotations, "wave.json");
        assert_eq!(wave.label, None, "the ranges carry the labels");
        assert_eq!(wave.structured_labels, Some(vec![StructuredLabel::new("up", 0, 9)]));
        let cat = annotation(&annotations, "cat.jpg");
        assert_eq!(cat.category, Some(Category::Testing));
        assert_eq!(cat.bounding_boxes, Some(vec![BoundingBox::new("cat", 1, 3, 10, 20)]));
    }

    #[test]
    fn box_and_range_files_annotate_the_files_of_their_folder_by_name() {
        let annotations = parse(r#"{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [{"label": "x", "x": 0, "y": 0, "width": 5, "height": 5}], "b.jpg": []}}"#).unwrap();
        assert_eq!(annotation(&annotations, "a.jpg").bounding_boxes, Some(vec![BoundingBox::new("x", 0, 0, 5, 5)]));
        assert_eq!(annotation(&annotations, "b.jpg").bounding_boxes, Some(vec![]));
        let annotations = parse(r#"{"version": 1, "type": "structured-labels", "structuredLabels": {"s.json": [{"label": "a", "startIndex": 3, "endIndex": 4}]}}"#).unwrap();
        assert_eq!(annotation(&annotations, "s.json").structured_labels, Some(vec![StructuredLabel::new("a", 3, 4)]));
    }

    #[test]
    fn a_malformed_labels_file_is_refused_naming_the_json_path() {
        let cases = [
            ("[1]", "malformed labels file: expected an object, found an array"),
            (r#"{"files": []}"#, "malformed info.labels: missing field `version`"),
            (r#"{"version": 1, "files": {}}"#, "malformed info.labels: at `files`: expected an array, found an object"),
            (r#"{"version": 1, "files": [{"path": 3}]}"#, "malformed info.labels: at `files[0].path`: expected a string, found number `3`"),
            (r#"{"version": 1, "files": [{"path": "a", "category": "train"}]}"#, "malformed info.labels: category `train` of `a` is not training, testing, anomaly or split"),
            (r#"{"version": 1, "files": [{"path": "a", "label": {"type": "labels"}}]}"#, "malformed info.labels: at `files[0].label`: unknown label type `labels` (expected `label`, `unlabeled` or `multi-label`)"),
            (r#"{"version": 1, "files": [{"path": "a", "label": {"type": "label"}}]}"#, "malformed info.labels: at `files[0].label`: missing field `label`"),
            (r#"{"version": 1, "files": [{"path": "a", "metadata": {"n": 3}}]}"#, "malformed info.labels: at `files[0].metadata.n`: expected a string, found number `3`"),
            (r#"{"version": 1, "files": [{"path": "a", "boundingBoxes": [{"label": "x", "x": 1, "y": 1, "width": 1}]}]}"#, "malformed info.labels: at `files[0].boundingBoxes[0]`: missing field `height`"),
            (r#"{"version": 1, "type": "bounding-box-labels"}"#, "malformed labels file: missing field `boundingBoxes`"),
            (r#"{"version": 1, "type": "structured-labels", "structuredLabels": {"s": [{"label": "a", "startIndex": -1, "endIndex": 2}]}}"#, "malformed labels file: at `structuredLabels.s[0].startIndex`: expected a whole number of 0 or more, found number `-1`"),
            (r#"{"version": 1, "type": "boxes"}"#, "malformed labels file: unknown type `boxes` (expected an info.labels file, `bounding-box-labels` or `structured-labels`)"),
        ];
        for (json, expected) in cases {
            assert_eq!(parse(json).err().as_deref(), Some(expected), "{json}");
        }
        assert!(parse("{").unwrap_err().starts_with("malformed labels file: not JSON ("));
    }
}
