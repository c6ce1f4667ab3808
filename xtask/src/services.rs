//! `spec/services.toml`: the services `regen` generates into the one crate, each from its own
//! spec with the same generator (see the file's comments).

use std::path::Path;

use edge_impulse_codegen::{Endpoint, Output, Overrides, RuntimeTypes, Service, ServiceSpec};
use serde::Deserialize;

/// The list of services, relative to the workspace root.
pub const SERVICES_FILE: &str = "spec/services.toml";

/// The `spec` of the service whose spec is the upstream Studio spec, located by `--spec` and
/// the pin rather than by a path in the file.
const UPSTREAM: &str = "upstream";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    service: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    spec: String,
    overrides: String,
    #[serde(default)]
    module: Option<String>,
    #[serde(default)]
    feature: Option<String>,
    #[serde(default)]
    conformance: bool,
    endpoint: Endpoint,
    #[serde(default)]
    runtime_types: Vec<RuntimeTypes>,
}

/// One service with its spec and overrides read.
struct Loaded {
    service: Service,
    spec_name: String,
    bytes: Vec<u8>,
    overrides: Overrides,
}

/// Generates every service of `spec/services.toml`; the upstream one from `upstream_bytes`
/// (the located spec, or a mutated copy) with `upstream_overrides`.
pub fn generate(root: &Path, upstream_name: &str, upstream_bytes: &[u8], upstream_overrides: &Overrides) -> Result<Output, String> {
    let loaded = load(root)?;
    let specs: Vec<ServiceSpec<'_>> = loaded
        .iter()
        .map(|l| match l.spec_name == UPSTREAM {
            true => ServiceSpec { service: l.service.clone(), spec_name: upstream_name, spec: upstream_bytes, overrides: upstream_overrides },
            false => ServiceSpec { service: l.service.clone(), spec_name: &l.spec_name, spec: &l.bytes, overrides: &l.overrides },
        })
        .collect();
    edge_impulse_codegen::generate_services(&specs).map_err(|e| e.to_string())
}

/// The cargo features of the services other than the primary one (`ingestion`).
pub fn secondary_features(root: &Path) -> Result<Vec<String>, String> {
    Ok(load(root)?.into_iter().filter_map(|l| l.service.feature).collect())
}

fn load(root: &Path) -> Result<Vec<Loaded>, String> {
    let path = root.join(SERVICES_FILE);
    if !path.exists() {
        // A checkout without the list (a scratch workspace): the Studio spec alone.
        return Ok(vec![Loaded { service: Service::single(), spec_name: UPSTREAM.into(), bytes: Vec::new(), overrides: Overrides::default() }]);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: File = toml::from_str(&text).map_err(|e| format!("{SERVICES_FILE}: {e}"))?;
    if file.service.iter().filter(|e| e.spec == UPSTREAM).count() != 1 {
        return Err(format!("{SERVICES_FILE}: exactly one service has `spec = \"{UPSTREAM}\"` (the Studio spec)"));
    }
    let mut loaded = Vec::new();
    for entry in file.service {
        let read = |relative: &str| std::fs::read(root.join(relative)).map_err(|e| format!("{SERVICES_FILE}: service `{}`: {relative}: {e}", entry.name));
        let (bytes, overrides) = match entry.spec == UPSTREAM {
            // Given by the caller: the spec located by --spec and the pin, and its overrides.
            true => (Vec::new(), Overrides::default()),
            false => {
                let overrides = Overrides::parse(&entry.overrides, &read(&entry.overrides)?).map_err(|e| e.to_string())?;
                (read(&entry.spec)?, overrides)
            }
        };
        let service = Service {
            name: entry.name,
            module: entry.module,
            feature: entry.feature,
            conformance: entry.conformance,
            endpoint: entry.endpoint,
            runtime_types: entry.runtime_types,
        };
        loaded.push(Loaded { service, spec_name: entry.spec, bytes, overrides });
    }
    Ok(loaded)
}
