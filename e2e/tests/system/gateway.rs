//! The real gateway (HAProxy with `gateway/haproxy.cfg`, as `make run` starts
//! it) in front of the real services: it routes each kind of request to its
//! service, answers CORS preflights itself, adds a request id, sets the
//! security headers, and refuses a client over its budget with `429`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Stdio;

use pos_bridge::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_system::eventually;
use tokio::process::{Child, Command};

use crate::helpers::{FEEDBACK_SECRET, Order, STORE, Service, System, expect, store_body};

/// An origin of `gateway/cors-origins.txt`.
const ALLOWED_ORIGIN: &str = "http://127.0.0.1:8000";

/// HAProxy in front of `system`, on a port of its own; killed when dropped.
struct Gateway {
    url: String,
    _process: Child,
}

async fn gateway(system: &System) -> Gateway {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let port = testkit::free_port().unwrap();
    let metrics = testkit::free_port().unwrap();
    let addr = |service| system.addr(service).to_string();
    let process = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(root.join("gateway/haproxy.cfg"))
        .env("QSR_GATEWAY_ADDR", format!("127.0.0.1:{port}"))
        .env("QSR_GATEWAY_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .env("QSR_GATEWAY_COMMAND_API", addr(Service::CommandApi))
        .env("QSR_GATEWAY_QUERY_API", addr(Service::QueryApi))
        .env("QSR_GATEWAY_IDENTITY", addr(Service::Identity))
        .env("QSR_GATEWAY_POS_BRIDGE", addr(Service::Bridge))
        .env(
            "QSR_GATEWAY_CORS_ORIGINS",
            root.join("gateway/cors-origins.txt"),
        )
        // Its access log would interleave with the tests' output.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("running haproxy (stack/stack.sh deps installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // Up, and every service's health check passed (a route answers).
    eventually("the gateway in front of the services", || async {
        let menu = http
            .get(format!("{url}/v1/stores/{STORE}/menu"))
            .send()
            .await
            .ok()?;
        (menu.status() == StatusCode::OK).then_some(())
    })
    .await;
    Gateway {
        url,
        _process: process,
    }
}

/// The text of an event stream up to the event that holds `marker`.
async fn read_until(mut response: reqwest::Response, marker: &str) -> String {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + test_system::PATIENCE;
    while !text.contains(marker) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {marker} in the stream: {text}"))
            .unwrap()
            .expect("the stream ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test]
async fn the_gateway_routes_each_request_to_its_service_and_guards_the_edge() {
    let system = System::builder()
        .prefix("e2e-gateway")
        .with_identity()
        .with_bridge()
        .start()
        .await
        .unwrap();
    system.open_store(STORE, &store_body(50)).await;
    let gateway = gateway(&system).await;
    let http = reqwest::Client::new();
    let at = |path: &str| format!("{}{path}", gateway.url);

    // Reads to query-api, with a request id made at the edge.
    let menu = http
        .get(at(&format!("/v1/stores/{STORE}/menu")))
        .send()
        .await
        .unwrap();
    assert!(
        menu.headers().contains_key("x-request-id"),
        "{:?}",
        menu.headers()
    );
    assert_eq!(menu.headers()["x-content-type-options"], "nosniff");
    expect(menu, StatusCode::OK, None).await;
    // A client's own request id comes back.
    let mine = http
        .get(at("/v1/customers/me/orders"))
        .bearer_auth(&system.tokens.customer)
        .header("x-request-id", "req-from-the-app")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "req-from-the-app");
    assert_eq!(mine.headers()["cache-control"], "no-store");
    expect(mine, StatusCode::OK, None).await;

    // Logins to identity, commands to command-api, reads of the order to
    // query-api.
    let login = http
        .post(at("/v1/auth/login"))
        .json(&json!({"email": "nobody@example.com", "password": "not the password"}))
        .send()
        .await
        .unwrap();
    expect(login, StatusCode::UNAUTHORIZED, Some("invalid_credentials")).await;
    let keys = http.get(at("/.well-known/jwks.json")).send().await.unwrap();
    let keys = expect(keys, StatusCode::OK, None).await;
    assert!(!keys["keys"].as_array().unwrap().is_empty(), "{keys}");
    let me = http
        .get(at("/v1/me"))
        .bearer_auth(&system.tokens.customer)
        .send()
        .await
        .unwrap();
    expect(me, StatusCode::OK, None).await;
    let placed = http
        .post(at("/v1/orders"))
        .bearer_auth(&system.tokens.customer)
        .header("idempotency-key", "gateway-order-1")
        .json(&Order::at(STORE).body())
        .send()
        .await
        .unwrap();
    let placed = expect(placed, StatusCode::CREATED, None).await;
    let order_id = placed["order_id"].as_str().unwrap().to_owned();
    let read = http
        .get(at(&format!(
            "/v1/orders/{order_id}?min_version=1&wait_ms=10000"
        )))
        .bearer_auth(&system.tokens.customer)
        .send()
        .await
        .unwrap();
    expect(read, StatusCode::OK, None).await;
    // The order's event stream passes through live, and resumes with
    // Last-Event-ID.
    let stream = http
        .get(at(&format!("/v1/orders/{order_id}/events")))
        .bearer_auth(&system.tokens.customer)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let accepted = http
        .post(at(&format!("/v1/orders/{order_id}/accept")))
        .bearer_auth(&system.tokens.staff)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect(accepted, StatusCode::OK, None).await;
    let seen = read_until(stream, "\"status\":\"accepted\"").await;
    assert!(seen.contains("\"status\":\"placed\""), "{seen}");
    let resumed = http
        .get(at(&format!("/v1/orders/{order_id}/events")))
        .bearer_auth(&system.tokens.customer)
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    let after = read_until(resumed, "\"status\":\"accepted\"").await;
    assert!(!after.contains("\"status\":\"placed\""), "{after}");

    // The kitchen's feedback to the bridge.
    let body = serde_json::to_vec(&json!({"id": "cheddar", "available": true})).unwrap();
    let now = chrono::Utc::now().timestamp();
    let stock = http
        .post(at(&format!("/v1/feedback/{STORE}/stock")))
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(SIGNATURE_HEADER, sign(FEEDBACK_SECRET, now, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    expect(stock, StatusCode::OK, None).await;
    // No app yet: the rest is a problem too.
    let elsewhere = http.get(at("/nowhere")).send().await.unwrap();
    expect(elsewhere, StatusCode::NOT_FOUND, Some("not_found")).await;

    // CORS: a preflight from an allowed origin is answered at the edge;
    // another origin is refused.
    let preflight = http
        .request(reqwest::Method::OPTIONS, at("/v1/orders"))
        .header("origin", ALLOWED_ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        ALLOWED_ORIGIN
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );
    let foreign = http
        .request(reqwest::Method::OPTIONS, at("/v1/orders"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    expect(foreign, StatusCode::FORBIDDEN, Some("origin_not_allowed")).await;

    // Over the login budget of one address: 429 with Retry-After, while
    // another address is unaffected.
    let greedy = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap();
    let mut limited = None;
    for _ in 0..40 {
        let answer = greedy
            .post(at("/v1/auth/token"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.expect("no 429 within 40 logins from one address");
    assert!(limited.headers().contains_key("retry-after"));
    expect(limited, StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")).await;
    let other = http
        .post(at("/v1/auth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::UNAUTHORIZED,
        "another address is not limited"
    );
    let _: Value = other.json().await.unwrap();
    drop(gateway);
    system.stop().await.unwrap();
}
