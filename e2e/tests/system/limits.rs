//! The server limits, against real services in process: a slow client is cut
//! off after the header timeout while others are served; a flood beyond the
//! concurrency limit is shed with `503` at once; a request that finds no free
//! database connection is answered `503`; one caller's event streams are
//! capped; one customer's placements are rate-limited.

use std::time::Duration;

use platform::Role;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::{Order, PATIENCE, STORE, Service, System, expect, store_body, token};

/// query-api alone on a database of its own with the read models' tables,
/// with the settings `tune` leaves.
async fn query_api_alone(tune: impl FnOnce(&mut query_api::Config) + Send + 'static) -> System {
    System::builder()
        .prefix("limits")
        .db_pool_size(2)
        .only([Service::QueryApi])
        .query_api_config(tune)
        .start()
        .await
        .unwrap()
}

/// What became of a client that sends its headers a byte at a time.
#[derive(Debug)]
enum Slow {
    /// The server closed the connection after this long.
    CutOff(Duration),
    /// The server answered (it took the whole request).
    Answered(String),
}

#[tokio::test]
async fn a_client_sending_headers_byte_by_byte_is_cut_off_while_others_are_served() {
    let system = query_api_alone(|config| {
        config.http.http_header_timeout_ms = 300;
    })
    .await;
    let service = system.query_api();
    let mut slow = TcpStream::connect(system.addr(Service::QueryApi))
        .await
        .unwrap();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nhost: test\r\nx-padding: {}\r\n\r\n",
        "a".repeat(200)
    );
    let started = Instant::now();
    // The pauses between bytes are the stimulus: a client that slow.
    let slow = tokio::spawn(async move {
        for byte in request.bytes() {
            if slow.write_all(&[byte]).await.is_err() {
                return Slow::CutOff(started.elapsed());
            }
            let mut answer = [0; 256];
            match tokio::time::timeout(Duration::from_millis(50), slow.read(&mut answer)).await {
                Ok(Ok(0) | Err(_)) => return Slow::CutOff(started.elapsed()),
                Ok(Ok(n)) => return Slow::Answered(String::from_utf8_lossy(&answer[..n]).into()),
                Err(_) => {}
            }
        }
        let mut answer = String::new();
        let _ = slow.read_to_string(&mut answer).await;
        Slow::Answered(answer)
    });

    // Another client is served meanwhile.
    let http = reqwest::Client::new();
    let answer = http.get(format!("{service}/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(!slow.is_finished(), "the slow client was cut off too early");

    let outcome = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("the slow client was never cut off")
        .unwrap();
    match outcome {
        Slow::CutOff(after) => assert!(
            after >= Duration::from_millis(300) && after < Duration::from_secs(3),
            "cut off after {after:?}"
        ),
        // hyper may say why before closing.
        Slow::Answered(answer) => assert!(
            answer.starts_with("HTTP/1.1 408"),
            "the slow client was served: {answer}"
        ),
    }
    system.stop().await.unwrap();
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_shed_at_once_with_retry_after() {
    let system = query_api_alone(|config| {
        config.http.http_max_in_flight = 2;
    })
    .await;
    let service = system.query_api();
    let http = reqwest::Client::new();
    let customer = token(Role::Customer, "cust-1", &[]);
    // The answer is in the document clients are generated from.
    let doc: serde_json::Value = reqwest::get(format!("{service}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/v1/orders/{order_id}", "/v1/stores/{store_id}/menu"] {
        let answer = &doc["paths"][path]["get"]["responses"]["503"];
        assert!(
            answer["headers"]["Retry-After"].is_object(),
            "{path}: {answer}"
        );
    }
    assert!(doc["paths"]["/v1/orders/{order_id}/events"]["get"]["responses"]["429"].is_object());
    // Two requests that wait five seconds for a version that never comes.
    let hold = || {
        tokio::spawn(
            http.get(format!(
                "{service}/v1/orders/{}?min_version=99&wait_ms=5000",
                uuid::Uuid::new_v4()
            ))
            .bearer_auth(&customer)
            .send(),
        )
    };
    let mut holders: Vec<_> = (0..2).map(|_| hold()).collect();

    // A quick read is answered at once; once both holders are in, with 503.
    let deadline = Instant::now() + Duration::from_secs(3);
    let shed = loop {
        assert!(Instant::now() < deadline, "no request was shed");
        // A holder that came in beside a probe may itself have been shed.
        for holder in &mut holders {
            if holder.is_finished() {
                *holder = hold();
            }
        }
        let sent = Instant::now();
        let answer = http
            .get(format!("{service}/v1/orders/{}", uuid::Uuid::new_v4()))
            .bearer_auth(&customer)
            .send()
            .await
            .unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "a request queued for {:?}",
            sent.elapsed()
        );
        if answer.status() == StatusCode::SERVICE_UNAVAILABLE {
            break answer;
        }
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    };
    assert_eq!(shed.headers()["retry-after"], "1");
    let body = expect(shed, StatusCode::SERVICE_UNAVAILABLE, Some("overloaded")).await;
    assert_eq!(body["status"], 503);
    // Probes stay outside the limit.
    let health = http.get(format!("{service}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    for holder in holders {
        holder.abort();
    }
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_that_finds_no_free_database_connection_is_answered_503() {
    let system = query_api_alone(|config| {
        config.postgres.db_pool_size = 1;
        config.postgres.db_pool_wait_ms = 300;
    })
    .await;
    let service = system.query_api();
    // A lock on the orders keeps the pool's one connection busy.
    let locker = system.db().await;
    locker
        .batch_execute("begin; lock table orders in access exclusive mode")
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let customer = token(Role::Customer, "cust-1", &[]);
    let read = || {
        http.get(format!("{service}/v1/orders/{}", uuid::Uuid::new_v4()))
            .bearer_auth(&customer)
            .send()
    };
    let blocked = tokio::spawn(read());

    // The first read holds the connection; another waits 300 ms and is told to retry.
    let deadline = Instant::now() + PATIENCE;
    let busy = loop {
        assert!(Instant::now() < deadline, "no read was answered 503");
        match read().await {
            Ok(answer) if answer.status() == StatusCode::SERVICE_UNAVAILABLE => break answer,
            Ok(answer) => panic!("answered {} while the orders are locked", answer.status()),
            // The connection was free when this one came: it is now blocked.
            Err(error) => assert!(error.is_timeout(), "{error}"),
        }
    };
    assert_eq!(busy.headers()["retry-after"], "1");
    expect(busy, StatusCode::SERVICE_UNAVAILABLE, Some("database_busy")).await;

    locker.batch_execute("rollback").await.unwrap();
    assert_eq!(
        blocked.await.unwrap().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    system.stop().await.unwrap();
}

/// Reads `stream` until an event of `status` came.
async fn await_status(stream: &mut reqwest::Response, status: &str) {
    let mut text = String::new();
    let needle = format!("\"status\":\"{status}\"");
    while !text.contains(&needle) {
        let chunk = tokio::time::timeout(PATIENCE, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {status} event; got {text}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended; got {text}"));
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn one_caller_holds_at_most_the_cap_of_event_streams_and_a_closed_one_frees_its_slot() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let body = Order {
        lines: json!([{"item_id": "classic", "quantity": 1, "modifiers": [], "note": null}]),
        tip: Some(0),
        ..Order::at(STORE)
    }
    .body();
    let order_id = system.place(&body).await;
    let request_timeout = Duration::from_millis(500);
    let service = system
        .spawn_query_api(|config| {
            config.streams_per_caller = 2;
            config.http.http_request_timeout_ms = request_timeout.as_millis() as u64;
        })
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let open = |token: &str| {
        http.get(format!("{}/v1/orders/{order_id}/events", service.url))
            .bearer_auth(token)
            .send()
    };
    let mut first = open(&system.tokens.customer).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    await_status(&mut first, "placed").await;
    let mut second = open(&system.tokens.customer).await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    await_status(&mut second, "placed").await;

    let refused = open(&system.tokens.customer).await.unwrap();
    assert_eq!(refused.headers()["retry-after"], "5");
    expect(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        Some("too_many_streams"),
    )
    .await;
    // The cap is per caller: staff of the store still follow the order.
    let staff = open(&system.tokens.staff).await.unwrap();
    assert_eq!(staff.status(), StatusCode::OK);
    drop(staff);

    // A client that goes away gives its slot back.
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    let third = loop {
        let answer = open(&system.tokens.customer).await.unwrap();
        if answer.status() == StatusCode::OK {
            break answer;
        }
        assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(Instant::now() < deadline, "the closed stream kept its slot");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(third);

    // The request timeout does not cut a stream: past it, the next status
    // still arrives. (Letting the time pass is the stimulus here.)
    tokio::time::sleep(request_timeout * 2).await;
    expect(
        system
            .post(
                &format!("/v1/orders/{order_id}/accept"),
                &system.tokens.staff,
                &json!({}),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    await_status(&mut second, "accepted").await;

    drop(second);
    service.stop().await.unwrap();
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_customer_placing_orders_past_the_burst_is_answered_429_with_retry_after() {
    let system = System::builder()
        .prefix("limits")
        .db_pool_size(1)
        .only([Service::CommandApi])
        .command_api_config(|config| {
            config.limits = command_api::Limits {
                placements_per_minute: 10,
                placement_burst: 2,
                ..command_api::Limits::default()
            };
        })
        .start()
        .await
        .unwrap();
    let url = system.command_api();
    let http = reqwest::Client::new();
    let (alice, bob) = (
        token(Role::Customer, "cust-alice", &[]),
        token(Role::Customer, "cust-bob", &[]),
    );
    let place = |token: &str, path: &str| {
        http.post(format!("{url}{path}"))
            .bearer_auth(token)
            .json(&json!({"store_id": "nowhere"}))
            .send()
    };
    // Every attempt counts, whatever it is answered.
    for _ in 0..2 {
        let answer = place(&alice, "/v1/orders").await.unwrap();
        assert_ne!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let limited = place(&alice, "/v1/orders").await.unwrap();
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=7).contains(&retry_after), "Retry-After: {retry_after}");
    expect(limited, StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")).await;
    // Another customer, and a quote, are not held back by it.
    let other = place(&bob, "/v1/orders").await.unwrap();
    assert_ne!(other.status(), StatusCode::TOO_MANY_REQUESTS);
    let quote = place(&alice, "/v1/orders/quote").await.unwrap();
    assert_ne!(quote.status(), StatusCode::TOO_MANY_REQUESTS);

    let doc: serde_json::Value = http
        .get(format!("{url}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers = &doc["paths"]["/v1/orders"]["post"]["responses"];
    assert!(
        answers["429"]["headers"]["Retry-After"].is_object(),
        "{answers}"
    );
    assert!(
        answers["503"]["headers"]["Retry-After"].is_object(),
        "{answers}"
    );

    system.stop().await.unwrap();
}
