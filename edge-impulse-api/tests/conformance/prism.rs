//! Starting and stopping the Stoplight Prism mock server.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Prism may take to read the spec and listen.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers built from the spec's examples, else from the schemas, the same every time.
    Static,
    /// Random answers valid against the schemas, repeatable for one seed.
    Dynamic { seed: u64 },
}

impl Mode {
    pub fn label(self) -> String {
        match self {
            Mode::Static => "static".into(),
            Mode::Dynamic { seed } => format!("dynamic (seed {seed})"),
        }
    }

    fn file_label(self) -> &'static str {
        match self {
            Mode::Static => "static",
            Mode::Dynamic { .. } => "dynamic",
        }
    }
}

/// A running Prism; killed when dropped, also when a panic unwinds.
pub struct Prism {
    child: Child,
    pub address: SocketAddr,
    pub log: PathBuf,
}

impl Prism {
    pub fn start(prism: &Path, spec: &Path, mode: Mode, log_dir: &Path) -> Result<Prism, String> {
        let port = free_port()?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        std::fs::create_dir_all(log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
        let log = log_dir.join(format!("prism-{}.log", mode.file_label()));
        let log_file = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(prism);
        command.arg("mock").arg("-h").arg("127.0.0.1").arg("-p").arg(port.to_string());
        if let Mode::Dynamic { seed } = mode {
            command.arg("-d").arg("--seed").arg(seed.to_string());
        }
        command.arg(spec).stdin(Stdio::null()).stdout(log_file).stderr(log_err);
        let child = command.spawn().map_err(|e| format!("starting {}: {e}", prism.display()))?;
        let mut prism = Prism { child, address, log };
        prism.wait_until_listening()?;
        Ok(prism)
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("Prism exited ({status}) before listening; its log:\n{}", self.log_tail()));
            }
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!("Prism did not listen on {} within {START_TIMEOUT:?}; its log:\n{}", self.address, self.log_tail()))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the copy of the spec Prism is given: the spec itself, with two changes to the
/// `multipart/form-data` bodies, for what Prism 5.14 cannot read. Neither changes what the
/// client sends.
/// - A list of plain values (sent as one part per item) gets an `encoding` entry (`style:
///   form`, `explode: true`) when it has none: Prism keeps only the last part of a repeated
///   field and makes a list of it only through such an entry. OpenAPI 3.0 ignores `style` in
///   multipart bodies, so the spec's meaning does not change.
/// - A list of objects (sent as one `application/json` part holding the JSON array) is
///   described to Prism as a string, in an inline copy of the body's schema: Prism reads a
///   list in a form only as comma-separated text, checks it for URL-reserved characters, and
///   would call every JSON array invalid. The JSON in that part is the multipart unit tests'
///   to check.
pub fn spec_for_prism(spec: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(spec).map_err(|e| format!("{}: {e}", spec.display()))?;
    let mut document: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", spec.display()))?;
    let mut media_pointers = Vec::new();
    if let Some(paths) = document.get("paths").and_then(|p| p.as_object()) {
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let Some(body) = operation.get("requestBody") else { continue };
                let body_pointer = match body.get("$ref").and_then(|r| r.as_str()) {
                    Some(reference) => reference.trim_start_matches('#').to_owned(),
                    None => format!("/paths/{}/{method}/requestBody", escape(path)),
                };
                media_pointers.push(format!("{body_pointer}/content/multipart~1form-data"));
            }
        }
    }
    media_pointers.sort();
    media_pointers.dedup();
    for media in media_pointers {
        let Some(schema) = document.pointer(&format!("{media}/schema")) else { continue };
        let lists = list_properties(&document, schema);
        let (object_lists, plain_lists): (Vec<_>, Vec<_>) = lists.into_iter().partition(|(_, of_objects)| *of_objects);
        let as_text = match object_lists.is_empty() {
            true => None,
            false => Some(with_properties_as_text(&document, schema, &object_lists.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>())),
        };
        let Some(serde_json::Value::Object(media_object)) = document.pointer_mut(&media) else { continue };
        if let Some(schema) = as_text {
            media_object.insert("schema".into(), schema);
        }
        let encoding = media_object.entry("encoding").or_insert_with(|| serde_json::json!({}));
        let Some(encoding) = encoding.as_object_mut() else { continue };
        for (property, _) in plain_lists {
            encoding.entry(property).or_insert_with(|| serde_json::json!({"style": "form", "explode": true}));
        }
    }
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join("spec-for-prism.json");
    let text = serde_json::to_string(&document).map_err(|e| e.to_string())?;
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn resolve<'a>(document: &'a serde_json::Value, mut schema: &'a serde_json::Value) -> &'a serde_json::Value {
    for _ in 0..32 {
        match schema.get("$ref").and_then(|r| r.as_str()).and_then(|r| document.pointer(r.trim_start_matches('#'))) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The properties of an object schema (and its `allOf` parts) that are lists, each with
/// whether its items are objects.
fn list_properties(document: &serde_json::Value, schema: &serde_json::Value) -> Vec<(String, bool)> {
    let schema = resolve(document, schema);
    let mut found = Vec::new();
    for part in schema.get("allOf").and_then(|a| a.as_array()).into_iter().flatten() {
        found.extend(list_properties(document, part));
    }
    for (name, property) in schema.get("properties").and_then(|p| p.as_object()).into_iter().flatten() {
        let property = resolve(document, property);
        if property.get("type").and_then(|t| t.as_str()) == Some("array") {
            let items = property.get("items").map(|items| resolve(document, items));
            let of_objects = items.is_some_and(|items| items.get("type").and_then(|t| t.as_str()) == Some("object") || items.get("properties").is_some());
            found.push((name.clone(), of_objects));
        }
    }
    found
}

/// An inline copy of `schema` (references and `allOf` parts resolved into it) in which the
/// properties `names` are plain strings.
fn with_properties_as_text(document: &serde_json::Value, schema: &serde_json::Value, names: &[&str]) -> serde_json::Value {
    let mut copy = resolve(document, schema).clone();
    if let Some(parts) = copy.get_mut("allOf").and_then(|a| a.as_array_mut()) {
        for part in parts.iter_mut() {
            *part = with_properties_as_text(document, part, names);
        }
    }
    if let Some(properties) = copy.get_mut("properties").and_then(|p| p.as_object_mut()) {
        for name in names {
            if let Some(property) = properties.get_mut(*name) {
                *property = serde_json::json!({"type": "string", "description": "a JSON array, sent as one part"});
            }
        }
    }
    copy
}

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("finding a free port: {e}"))
}
