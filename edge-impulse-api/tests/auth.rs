//! Credentials per security scheme, operations that send none, login, and redaction.

mod common;

use common::*;
use edge_impulse_api::models::{self, RawDataCategoryQuery};
use edge_impulse_api::{Client, Error, Secret};
use wiremock::matchers::{body_json, header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn assert_no_credentials(request: &wiremock::Request) {
    for name in ["x-api-key", "x-jwt-token", "cookie", "authorization"] {
        assert_eq!(header(request, name), None, "`{name}` was sent to {}", request.url);
    }
}

#[tokio::test]
async fn api_key_goes_in_x_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/7/raw-data/count"))
        .and(header_is("x-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(3)))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server, true, false);
    let answer = client.raw_data().count_samples(7, RawDataCategoryQuery::Training).await.unwrap();
    assert_eq!(answer.count, 3);

    let request = single_request(&server).await;
    assert_eq!(header(&request, "x-jwt-token"), None);
    assert_eq!(header(&request, "cookie"), None);
}

#[tokio::test]
async fn jwt_goes_in_x_jwt_token_not_the_cookie() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/7/raw-data/count"))
        .and(header_is("x-jwt-token", JWT))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(4)))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server, false, true);
    let answer = client.raw_data().count_samples(7, RawDataCategoryQuery::Testing).await.unwrap();
    assert_eq!(answer.count, 4);

    let request = single_request(&server).await;
    assert_eq!(header(&request, "x-api-key"), None);
    assert_eq!(header(&request, "cookie"), None, "the header scheme is preferred over the cookie");
}

#[tokio::test]
async fn with_both_credentials_the_first_accepted_scheme_is_used_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/7/raw-data/count"))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(0)))
        .mount(&server)
        .await;

    let client = client(&server, true, true);
    client.raw_data().count_samples(7, RawDataCategoryQuery::Anomaly).await.unwrap();

    // The spec lists the API key first; one scheme is enough, the JWT is not sent too.
    let request = single_request(&server).await;
    assert_eq!(header(&request, "x-api-key"), Some(API_KEY));
    assert_eq!(header(&request, "x-jwt-token"), None);
    assert_eq!(header(&request, "cookie"), None);
}

#[tokio::test]
async fn cookie_only_operation_gets_the_jwt_cookie() {
    // `shouldGoOnCanary` accepts only `JWTAuthentication` (the `jwt` cookie).
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/canary"))
        .and(header_is("cookie", format!("jwt={JWT}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "routeToCanary": true})))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server, true, true);
    let answer = client.canary().should_go_on_canary("https://studio.edgeimpulse.com/studio/1").await.unwrap();
    assert!(answer.route_to_canary);

    let request = single_request(&server).await;
    assert_eq!(header(&request, "x-api-key"), None, "the API key is not accepted by this operation");
    assert_eq!(header(&request, "x-jwt-token"), None);
    let query: Vec<(String, String)> = request.url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    assert_eq!(query, [("requestedUrl".to_owned(), "https://studio.edgeimpulse.com/studio/1".to_owned())]);
}

#[tokio::test]
async fn cookie_only_operation_with_only_an_api_key_says_a_jwt_is_needed() {
    // Before: the request went out without credentials and came back as a bare 401.
    let server = MockServer::start().await;
    let client = client(&server, true, false);
    let error = expect_err(client.canary().should_go_on_canary("https://x").await);
    let Error::InvalidRequest { operation: "shouldGoOnCanary", message } = &error else { panic!("{error:?}") };
    assert!(message.contains("a JWT") && message.contains("only an API key"), "{message}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing is sent");
}

#[tokio::test]
async fn with_both_credentials_the_preferred_one_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/1/raw-data/count"))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(1)))
        .mount(&server)
        .await;
    for (prefer_jwt, sent, not_sent) in [(false, "x-api-key", "x-jwt-token"), (true, "x-jwt-token", "x-api-key")] {
        let client = Client::builder().base_url(server.uri()).api_key(API_KEY).jwt(JWT).prefer_jwt(prefer_jwt).build().unwrap();
        client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        let last = requests.last().unwrap();
        assert!(header(last, sent).is_some(), "prefer_jwt({prefer_jwt}) sends {sent}");
        assert_eq!(header(last, not_sent), None, "prefer_jwt({prefer_jwt}) sends one credential");
    }
}

#[tokio::test]
async fn a_cookie_set_by_hand_is_kept_next_to_the_jwt_cookie() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/canary"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "routeToCanary": false})))
        .mount(&server)
        .await;
    let client = Client::builder().base_url(server.uri()).jwt(JWT).header("cookie", "session=abc").build().unwrap();
    client.canary().should_go_on_canary("https://x").await.unwrap();
    // Before: the jwt cookie replaced the user's Cookie header.
    assert_eq!(header(&single_request(&server).await, "cookie"), Some(format!("session=abc; jwt={JWT}").as_str()));
}

#[tokio::test]
async fn login_sends_no_credentials_even_when_the_client_has_both() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api-login"))
        .and(body_json(serde_json::json!({"username": "ada", "password": "hunter2"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "token": "fresh.jwt.token"})))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server, true, true);
    let body = models::GetJwtRequest::new("ada".into(), Secret::new("hunter2"));
    let answer = client.login().login(&body).await.unwrap();
    assert_eq!(answer.token.as_ref().map(Secret::expose), Some("fresh.jwt.token"));
    assert_no_credentials(&single_request(&server).await);
}

#[tokio::test]
async fn other_operations_without_security_send_no_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api-user-create"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "id": 99})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api-user-need-to-set-password/ada%40example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "needPassword": false})))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server, true, true);
    let body = models::CreateUserRequest::new("Ada".into(), "ada".into(), "ada@example.com".into(), true);
    let created = client.user().create_user(&body).await.unwrap();
    assert_eq!(created.id, Some(99));
    let need = client.user().get_user_need_to_set_password("ada@example.com").await.unwrap();
    assert_eq!(need.need_password, Some(false));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_no_credentials(request);
    }
    let sent: serde_json::Value = requests[0].body_json().unwrap();
    assert_eq!(sent, serde_json::json!({"name": "Ada", "username": "ada", "email": "ada@example.com", "privacyPolicy": true}));
}

#[tokio::test]
async fn builder_login_posts_credentials_and_uses_the_jwt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api-login"))
        .and(header_is("content-type", "application/json"))
        .and(body_json(serde_json::json!({"username": "ada@example.com", "password": "pa55word"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "token": JWT})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/12/raw-data/count"))
        .and(header_is("x-jwt-token", JWT))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(8)))
        .expect(1)
        .mount(&server)
        .await;

    // An API key set before logging in is dropped: the result is a JWT client.
    let client = Client::builder()
        .base_url(server.uri())
        .api_key(API_KEY)
        .header("x-team", "robots")
        .login("ada@example.com", "pa55word")
        .await
        .unwrap();
    assert_redacted("Client after login", &format!("{client:?}"));
    let answer = client.raw_data().count_samples(12, RawDataCategoryQuery::Training).await.unwrap();
    assert_eq!(answer.count, 8);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_no_credentials(&requests[0]);
    assert_eq!(header(&requests[1], "x-api-key"), None, "the API key must not win over the new JWT");
    // Settings of the builder are kept for both the login and the client it returns.
    for request in &requests {
        assert_eq!(header(request, "x-team"), Some("robots"));
    }
}

#[tokio::test]
async fn builder_login_failure_is_an_api_error_and_shows_no_password() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api-login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"success": false, "error": "Invalid username or password"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = Client::builder().base_url(server.uri()).login("ada", "s3cr3t-pa55").await;
    let error = expect_err(result);
    let text = format!("{error} {error:?}");
    assert!(!text.contains("s3cr3t-pa55"), "{text}");
    match error {
        Error::Api { operation, status, message } => {
            assert_eq!(operation, "login");
            assert_eq!(status, 200);
            assert_eq!(message, "Invalid username or password");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

#[tokio::test]
async fn builder_login_without_a_token_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api-login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "redirectUrl": "/sso"})))
        .mount(&server)
        .await;

    let error = expect_err(Client::builder().base_url(server.uri()).login("ada", "pw").await);
    assert!(matches!(&error, Error::Decode { operation: "login", path, .. } if path == "token"), "{error:?}");
}

#[tokio::test]
async fn debug_output_never_shows_credentials() {
    let server = MockServer::start().await;
    let builder = Client::builder().base_url(server.uri()).api_key(API_KEY).jwt(JWT);
    let builder_debug = format!("{builder:?}");
    assert_redacted("ClientBuilder", &builder_debug);
    assert!(builder_debug.contains("redacted"), "{builder_debug}");

    let client = builder.build().unwrap();
    let client_debug = format!("{client:?}");
    assert_redacted("Client", &client_debug);
    assert!(client_debug.contains(&server.uri()), "the base URL is still shown: {client_debug}");

    let secret = Secret::new(API_KEY);
    assert_redacted("Secret", &format!("{secret:?}"));
    assert_eq!(secret.expose(), API_KEY);

    let response: models::GetJwtResponse = serde_json::from_value(serde_json::json!({"success": true, "token": JWT})).unwrap();
    assert_redacted("GetJwtResponse", &format!("{response:?} {response:#?}"));

    let request = models::GetJwtRequest::new("ada".into(), Secret::new(API_KEY));
    assert_redacted("GetJwtRequest", &format!("{request:?}"));
    // Serialising a request body still carries the value.
    assert!(serde_json::to_string(&request).unwrap().contains(API_KEY));
}

#[tokio::test]
async fn decoded_secrets_are_redacted_in_debug() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/apikeys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "success": true,
            "apiKeys": [{"id": 1, "apiKey": API_KEY, "isDevelopmentKey": true, "name": "dev",
                         "created": "2024-05-01T10:00:00Z", "role": "admin"}]
        })))
        .mount(&server)
        .await;

    let client = client(&server, false, true);
    let keys = client.projects().list_project_api_keys(3).await.unwrap();
    assert_eq!(keys.api_keys[0].api_key.expose(), API_KEY);
    assert_redacted("ListApiKeysResponse", &format!("{keys:?}"));
}

#[tokio::test]
async fn a_password_the_server_echoes_is_redacted() {
    // A login that echoes the password it got, in the failure envelope and in an error status.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api-login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": false, "error": "wrong password pa55-word-91 for ada"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/1/raw-data/count"))
        .respond_with(ResponseTemplate::new(401).set_body_raw("no user ada with password b4sic-pw-77 (YWRhOmI0c2ljLXB3LTc3)", "text/plain"))
        .mount(&server)
        .await;

    let error = expect_err(Client::builder().base_url(server.uri()).login("ada", "pa55-word-91").await);
    let text = format!("{error} {error:?}");
    assert!(!text.contains("pa55-word-91"), "{text}");
    assert!(matches!(&error, Error::Api { message, .. } if message == "wrong password <redacted> for ada"), "{error:?}");

    // The same operation called directly: the password is in the JSON the call sent.
    let client = Client::builder().base_url(server.uri()).build().unwrap();
    let request = models::GetJwtRequest::new("ada".into(), "pa55-word-91".into());
    let error = expect_err(client.login().login(&request).await);
    assert!(!format!("{error} {error:?}").contains("pa55-word-91"), "{error:?}");

    // HTTP basic authentication: the password, and its encoding with the user name.
    let client = Client::builder().base_url(server.uri()).basic_auth("ada", "b4sic-pw-77").no_retries().build().unwrap();
    let error = expect_err(client.request::<serde_json::Value>(edge_impulse_api::Method::Get, "/api/1/raw-data/count").await);
    let text = format!("{error} {error:?}");
    assert!(!text.contains("b4sic-pw-77") && !text.contains("YWRhOmI0c2ljLXB3LTc3"), "{text}");
}

#[tokio::test]
async fn a_login_that_needs_a_totp_code_is_its_own_error_and_the_code_logs_in() {
    let server = MockServer::start().await;
    // Without a code (the body is exactly the user name and password) the server asks for one.
    Mock::given(method("POST"))
        .and(path("/api-login"))
        .and(body_json(serde_json::json!({"username": "ada", "password": "pa55word"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "success": false,
            "error": "ERR_TOTP_TOKEN IS REQUIRED. Please provide a TOTP token."
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api-login"))
        .and(body_json(serde_json::json!({"username": "ada", "password": "pa55word", "totpToken": "123456"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "token": JWT})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/12/raw-data/count"))
        .and(header_is("x-jwt-token", JWT))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(3)))
        .expect(1)
        .mount(&server)
        .await;

    let error = expect_err(Client::builder().base_url(server.uri()).login("ada", "pa55word").await);
    match &error {
        Error::TotpRequired { operation, message } => {
            assert_eq!(*operation, "login");
            assert!(message.starts_with("ERR_TOTP_TOKEN"), "{message}");
        }
        other => panic!("expected Error::TotpRequired, got {other:?}"),
    }
    assert!(error.to_string().contains("login_with_totp"), "the message says what to do: {error}");

    let client = Client::builder().base_url(server.uri()).login_with_totp("ada", "pa55word", "123456").await.unwrap();
    assert_eq!(client.raw_data().count_samples(12, RawDataCategoryQuery::Training).await.unwrap().count, 3);
}

/// A server on 127.0.0.1 that redirects every request to `target`.
async fn redirecting_to(target: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{target}/api/1/raw-data/count")))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn no_credential_follows_a_redirect_to_another_host_whatever_http_client_is_given() {
    // The other host: `localhost` where the API is `127.0.0.1`, another port too.
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(count_body(1))).mount(&elsewhere).await;
    let elsewhere_url = format!("http://localhost:{}", elsewhere.address().port());
    let api = redirecting_to(&elsewhere_url).await;

    let given: [(&str, Option<reqwest::Client>); 4] = [
        ("the crate's own", None),
        ("reqwest's default (follows 10)", Some(reqwest::Client::new())),
        ("limited(3)", Some(reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(3)).build().unwrap())),
        ("none", Some(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap())),
    ];
    for (name, http) in given {
        for credentials in ["api key", "jwt"] {
            let mut builder = Client::builder().base_url(api.uri()).no_retries();
            builder = match credentials {
                "api key" => builder.api_key(API_KEY),
                _ => builder.jwt(JWT),
            };
            if let Some(http) = http.clone() {
                builder = builder.http_client(http);
            }
            match builder.build() {
                Ok(client) => {
                    let error = expect_err(client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await);
                    assert!(matches!(&error, Error::Status { status: 302, .. }), "{name}: {error:?}");
                    assert!(error.to_string().contains(&elsewhere_url), "{name}: the error names the target: {error}");
                }
                Err(error) => {
                    let message = checked(&error);
                    assert!(message.contains("Policy::none()"), "{name}: the refusal says what to do: {message}");
                    // Only clients that may follow are refused: one that cannot is accepted.
                    assert!(!matches!(name, "the crate's own" | "none"), "{name}: refused a client that does not follow: {message}");
                }
            }
        }
    }
    let reached = elsewhere.received_requests().await.unwrap();
    assert!(reached.is_empty(), "a credential left for another host: {reached:?}");

    // A client that follows redirects is fine when it has no credential to carry.
    let anonymous = Client::builder().base_url(api.uri()).http_client(reqwest::Client::new()).build().unwrap();
    let answer = anonymous.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.unwrap();
    assert_eq!(answer.count, 1);
    let reached = elsewhere.received_requests().await.unwrap();
    assert_eq!(reached.len(), 1);
    assert_no_credentials(&reached[0]);
}
