//! What one sample is: its data, file name, category, label, metadata and labels.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::AsyncRead;

/// Metadata keys and their string values, as the JSON object `x-metadata` carries. Kept in
/// serde_json's map, whose code the crate compiles anyway, where a map of its own would be
/// compiled again for the uploader.
#[derive(Clone, Default)]
pub(crate) struct Metadata(serde_json::Map<String, serde_json::Value>);

impl Metadata {
    pub(crate) fn insert(&mut self, key: String, value: String) {
        self.0.insert(key, serde_json::Value::String(value));
    }

    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(serde_json::Value::as_str)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `other`'s keys, its values winning.
    pub(crate) fn merge(&mut self, other: Metadata) {
        self.0.extend(other.0);
    }

    pub(crate) fn into_json(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }
}

impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(key, value)| (key, value.as_str().unwrap_or_default()))).finish()
    }
}

/// Where a sample goes in the project (the ingestion path `/api/{category}/files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Category {
    /// The training set.
    Training,
    /// The test set.
    Testing,
    /// The anomaly set (samples only an anomaly block sees).
    Anomaly,
    /// The server puts each sample in training or testing, keeping the project's split
    /// (the Python SDK's default, and this uploader's).
    #[default]
    Split,
}

impl Category {
    /// The path segment of the ingestion API (`training`, `testing`, `anomaly`, `split`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Training => "training",
            Category::Testing => "testing",
            Category::Anomaly => "anomaly",
            Category::Split => "split",
        }
    }

    /// The category a path segment or an `info.labels` entry names (`training`, `testing`,
    /// `anomaly`, `split`); `None` for anything else.
    pub fn from_name(name: &str) -> Option<Category> {
        match name {
            "training" => Some(Category::Training),
            "testing" => Some(Category::Testing),
            "anomaly" => Some(Category::Anomaly),
            "split" => Some(Category::Split),
            _ => None,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The label a sample gets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Label {
    /// No label header: the server takes the label from the file name, up to the first
    /// character that is not a letter, digit, space, `-` or `_` (`idle.01.json` is `idle`).
    #[default]
    Inferred,
    /// The sample is unlabeled (`x-no-label: 1`).
    None,
    /// This label (`x-label`, percent-encoded as the Edge Impulse CLI does).
    Named(String),
}

/// An object in an image: a label and a box in pixels, as Studio stores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoundingBox {
    /// What the box holds.
    pub label: String,
    /// Left edge, in pixels from the left.
    pub x: i64,
    /// Top edge, in pixels from the top.
    pub y: i64,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
}

impl BoundingBox {
    /// A box from its label, left edge, top edge, width and height (pixels).
    pub fn new(label: impl Into<String>, x: i64, y: i64, width: i64, height: i64) -> Self {
        BoundingBox { label: label.into(), x, y, width, height }
    }

    /// As a `.labels` file writes it.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("label".to_owned(), self.label.as_str().into());
        for (key, value) in [("x", self.x), ("y", self.y), ("width", self.width), ("height", self.height)] {
            object.insert(key.to_owned(), value.into());
        }
        serde_json::Value::Object(object)
    }
}

/// A label for a range of a time series sample (a "multi-label" sample), indices inclusive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StructuredLabel {
    /// The label of this range.
    pub label: String,
    /// The first value index the label covers.
    pub start_index: u64,
    /// The last value index the label covers.
    pub end_index: u64,
}

impl StructuredLabel {
    /// A label for the values `start_index..=end_index`.
    pub fn new(label: impl Into<String>, start_index: u64, end_index: u64) -> Self {
        StructuredLabel { label: label.into(), start_index, end_index }
    }

    /// As a `.labels` file writes it.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("label".to_owned(), self.label.as_str().into());
        object.insert("startIndex".to_owned(), self.start_index.into());
        object.insert("endIndex".to_owned(), self.end_index.into());
        serde_json::Value::Object(object)
    }
}

pub(crate) enum Source {
    Path(PathBuf),
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

/// One file to upload, with what it is labelled with. Settings left unset take the upload's
/// ([`Upload::category`](super::Upload::category), [`Upload::label`](super::Upload::label),
/// ...); metadata is merged, the sample's own keys winning.
///
/// ```
/// use edge_impulse_api::upload::{BoundingBox, Category, Sample};
///
/// let sample = Sample::from_path("images/cat.01.jpg")
///     .category(Category::Training)
///     .label("cat")
///     .metadata("camera", "front")
///     .bounding_box(BoundingBox::new("cat", 10, 20, 64, 48));
/// ```
pub struct Sample {
    pub(crate) source: Source,
    pub(crate) file_name: String,
    pub(crate) category: Option<Category>,
    pub(crate) label: Option<Label>,
    pub(crate) metadata: Metadata,
    pub(crate) bounding_boxes: Option<Vec<BoundingBox>>,
    pub(crate) structured_labels: Option<Vec<StructuredLabel>>,
}

impl Sample {
    fn new(source: Source, file_name: String) -> Self {
        Sample {
            source,
            file_name,
            category: None,
            label: None,
            metadata: Metadata::default(),
            bounding_boxes: None,
            structured_labels: None,
        }
    }

    /// A file on disk, streamed when its request is sent; named after the path's last part.
    pub fn from_path(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Sample::new(Source::Path(path), name)
    }

    /// Data in memory, sent under `file_name` (whose extension says what the data is:
    /// `walk.01.json`, `cat.jpg`).
    pub fn from_bytes(file_name: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Sample::new(Source::Bytes(data.into()), file_name.into())
    }

    /// Data from an async reader, sent under `file_name`. The reader is read to its end
    /// (at most 100 MB) before the upload starts: a request that is retried needs it again,
    /// and a reader can be read only once.
    pub fn from_reader(file_name: impl Into<String>, reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        Sample::new(Source::Reader(Box::new(reader)), file_name.into())
    }

    /// The file name sent to the server (the sample's name in Studio, without extension).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// The category of this sample.
    pub fn category(mut self, category: Category) -> Self {
        self.category = Some(category);
        self
    }

    /// The label of this sample.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(Label::Named(label.into()));
        self
    }

    /// This sample is unlabeled.
    pub fn no_label(mut self) -> Self {
        self.label = Some(Label::None);
        self
    }

    /// The server infers this sample's label from its file name.
    pub fn infer_label(mut self) -> Self {
        self.label = Some(Label::Inferred);
        self
    }

    /// Adds a metadata entry (shown in Studio, usable to filter samples).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds a bounding box (object detection images).
    pub fn bounding_box(mut self, bounding_box: BoundingBox) -> Self {
        self.bounding_boxes.get_or_insert_with(Vec::new).push(bounding_box);
        self
    }

    /// Adds a label for a range of values (time series with several labels).
    pub fn structured_label(mut self, label: StructuredLabel) -> Self {
        self.structured_labels.get_or_insert_with(Vec::new).push(label);
        self
    }
}

impl std::fmt::Debug for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Sample");
        match &self.source {
            Source::Path(path) => s.field("path", path),
            Source::Bytes(data) => s.field("bytes", &data.len()),
            Source::Reader(_) => s.field("reader", &".."),
        };
        s.field("file_name", &self.file_name)
            .field("category", &self.category)
            .field("label", &self.label)
            .field("metadata", &self.metadata)
            .field("bounding_boxes", &self.bounding_boxes)
            .field("structured_labels", &self.structured_labels)
            .finish()
    }
}
