//! `Client::from_env`. Environment variables are process-wide, so this file holds a single
//! test that walks through every case in order.

mod common;

use common::*;
use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::{Client, Error, DEFAULT_BASE_URL};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const VARS: [&str; 5] = ["EI_API_KEY", "EI_JWT_TOKEN", "EI_HOST", "EI_CLI_STUDIO_ENDPOINT", "EI_INGESTION_ENDPOINT"];

fn set(values: &[(&str, &str)]) {
    for name in VARS {
        std::env::remove_var(name);
    }
    for (name, value) in values {
        std::env::set_var(name, value);
    }
}

#[tokio::test]
async fn client_from_environment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/1/raw-data/count"))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(2)))
        .mount(&server)
        .await;

    // Nothing set, or only blanks: a configuration error that says what to set.
    for values in [&[][..], &[("EI_API_KEY", "  "), ("EI_JWT_TOKEN", "")][..], &[("EI_HOST", "studio.example.com")][..]] {
        set(values);
        let error = expect_err(Client::from_env());
        match &error {
            Error::Config(message) => {
                assert!(message.contains("EI_API_KEY") && message.contains("EI_JWT_TOKEN"), "{message}");
            }
            other => panic!("expected Error::Config, got {other:?}"),
        }
    }

    // An API key alone: the default server.
    set(&[("EI_API_KEY", API_KEY)]);
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), DEFAULT_BASE_URL);
    assert_redacted("Client from env", &format!("{client:?}"));

    // EI_HOST is a base domain, as for the Edge Impulse CLI: its Studio is studio.{host}.
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "edgeimpulse.com")]);
    assert_eq!(Client::from_env().unwrap().base_url(), "https://studio.edgeimpulse.com/v1");
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "edgeimpulse.example.com/")]);
    assert_eq!(Client::from_env().unwrap().base_url(), "https://studio.edgeimpulse.example.com/v1");
    // A local Studio (the CLI's development set-up) listens on port 4800, without TLS.
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "host.docker.internal")]);
    assert_eq!(Client::from_env().unwrap().base_url(), "http://host.docker.internal:4800/v1");
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "localhost")]);
    assert_eq!(Client::from_env().unwrap().base_url(), "http://localhost:4800/v1");
    // EI_CLI_STUDIO_ENDPOINT names the Studio itself and wins over EI_HOST.
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "edgeimpulse.com"), ("EI_CLI_STUDIO_ENDPOINT", "http://studio.local:14800/")]);
    assert_eq!(Client::from_env().unwrap().base_url(), "http://studio.local:14800/v1");

    // The ingestion service follows the CLI: ingestion.{EI_HOST}, port 4810 locally; the
    // Python SDK's EI_INGESTION_ENDPOINT wins over EI_HOST.
    let ingestion = |client: &Client| client.service_url("ingestion").map(str::to_owned);
    set(&[("EI_API_KEY", API_KEY)]);
    assert_eq!(ingestion(&Client::from_env().unwrap()).as_deref(), Some("https://ingestion.edgeimpulse.com"));
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "edgeimpulse.example.com")]);
    assert_eq!(ingestion(&Client::from_env().unwrap()).as_deref(), Some("https://ingestion.edgeimpulse.example.com"));
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "localhost")]);
    assert_eq!(ingestion(&Client::from_env().unwrap()).as_deref(), Some("http://localhost:4810"));
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "edgeimpulse.com"), ("EI_INGESTION_ENDPOINT", "http://127.0.0.1:4811/")]);
    let client = Client::from_env().unwrap();
    assert_eq!(ingestion(&client).as_deref(), Some("http://127.0.0.1:4811"));
    assert_eq!(client.base_url(), "https://studio.edgeimpulse.com/v1", "Studio's host is its own");
    // A URL in EI_HOST names Studio's API; the ingestion service keeps its default.
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "http://10.0.0.5:4800/v1")]);
    assert_eq!(ingestion(&Client::from_env().unwrap()).as_deref(), Some("https://ingestion.edgeimpulse.com"));

    // Credentials copied with a line break (or from a CRLF file) are trimmed, not sent
    // broken; a control character inside one fails at build time, without echoing it.
    set(&[("EI_API_KEY", &format!("  {API_KEY}\r\n")), ("EI_HOST", &server.uri())]);
    let client = Client::from_env().unwrap();
    client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.unwrap();
    set(&[("EI_API_KEY", "ei_broken\u{1}key_5521")]);
    let error = expect_err(Client::from_env());
    assert!(matches!(&error, Error::Config(message) if message.contains("API key") && !message.contains("key_5521")), "{error:?}");

    // A full URL is used as it is (without a trailing slash), here the mock server.
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", &format!("{}/", server.uri()))]);
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), server.uri());
    assert_eq!(client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.unwrap().count, 2);

    // A JWT alone.
    set(&[("EI_JWT_TOKEN", JWT), ("EI_HOST", &server.uri())]);
    let client = Client::from_env().unwrap();
    client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.unwrap();

    // A host that is not a URL is reported, not silently replaced.
    set(&[("EI_API_KEY", API_KEY), ("EI_HOST", "ftp://files.example.com")]);
    assert!(matches!(expect_err(Client::from_env()), Error::Config(_)));

    set(&[]);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert_eq!(header(&requests[0], "x-api-key"), Some(API_KEY), "trimmed");
    assert_eq!(header(&requests[1], "x-api-key"), Some(API_KEY));
    assert_eq!(header(&requests[1], "x-jwt-token"), None);
    assert_eq!(header(&requests[2], "x-jwt-token"), Some(JWT));
    assert_eq!(header(&requests[2], "x-api-key"), None);
}
