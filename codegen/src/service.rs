//! The HTTP services one crate is generated from (`spec/services.toml`): which module and
//! cargo feature each gets, and how the client finds its host. Data, so that a new service
//! needs no generator code.

use serde::Deserialize;

/// One service: a spec generated into the crate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Short name (`studio`, `ingestion`): the name of its static in the generated code and of
    /// its URL setting (`ClientBuilder::service_url`).
    pub name: String,
    /// The module (`src/generated/<module>/`, re-exported at the crate root) holding its
    /// operations and models. Only the first (primary) service has none: its code is the
    /// generated root.
    #[serde(default)]
    pub module: Option<String>,
    /// One cargo feature for all of its operations and types; without one, a feature per tag.
    #[serde(default)]
    pub feature: Option<String>,
    /// Whether the conformance suite (`tests/conformance/generated.rs`) is generated from it.
    #[serde(default)]
    pub conformance: bool,
    /// How the client finds the service's URL in the environment.
    pub endpoint: Endpoint,
    /// Schemas the hand-written runtime names, which must be compiled whenever it needs them
    /// whichever groups use them.
    #[serde(default)]
    pub runtime_types: Vec<RuntimeTypes>,
}

/// Schemas the runtime names under some cargo features (every build, with none).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeTypes {
    /// The runtime code that names them is compiled when any of these is on.
    #[serde(default)]
    pub features: Vec<String>,
    /// Schema names (Rust type names, as in `models`).
    pub types: Vec<String>,
}

/// How `Client::from_env` derives a service's URL, as the Edge Impulse CLI does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// A variable holding the service's URL (`EI_INGESTION_ENDPOINT`).
    #[serde(default)]
    pub env: Option<String>,
    /// The host's first label under `EI_HOST` (`ingestion` -> `ingestion.edgeimpulse.com`).
    pub subdomain: String,
    /// The port of a local deployment (`EI_HOST=localhost`).
    pub local_port: u16,
    /// The API's path below the host (`/v1`), empty for none.
    #[serde(default)]
    pub path: String,
}

impl Service {
    /// The one service of a crate generated from a single spec (the fixtures): the crate root,
    /// a feature per tag, the conformance suite.
    pub fn single() -> Service {
        Service {
            name: "api".into(),
            module: None,
            feature: None,
            conformance: true,
            endpoint: Endpoint { env: None, subdomain: "api".into(), local_port: 80, path: String::new() },
            runtime_types: Vec::new(),
        }
    }

    /// Where its generated files go, relative to the crate root, with a trailing `/`.
    pub fn dir(&self) -> String {
        match &self.module {
            Some(module) => format!("src/generated/{module}/"),
            None => "src/generated/".into(),
        }
    }

    /// The Rust path of its generated module (`crate::generated::ingestion`).
    pub(crate) fn module_path(&self) -> proc_macro2::TokenStream {
        match &self.module {
            Some(module) => {
                let module = quote::format_ident!("{}", module);
                quote::quote!(crate::generated::#module)
            }
            None => quote::quote!(crate::generated),
        }
    }

    /// The public path of its models, for doc links (`crate::ingestion::models`).
    pub(crate) fn models_doc_path(&self) -> String {
        match &self.module {
            Some(module) => format!("crate::{module}::models"),
            None => "crate::models".into(),
        }
    }

    /// The name of its static in the generated `services` module (`INGESTION`).
    pub(crate) fn static_name(&self) -> String {
        crate::names::const_name(&self.name)
    }
}
