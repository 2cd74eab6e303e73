//! The way through a kitchen: a placed order reaches the display at once, is
//! accepted by the bridge, printed, bumped to ready from the display, and a
//! cancelled one prints CANCELLED; stock updates and reprints.

use platform::Role;
use pos_bridge::order_number;
use serde_json::{Value, json};

use crate::helpers::{
    FEEDBACK_SECRET, KDS_SECRET, place, spawn_env, store_profile, store_settings, token, try_place,
};
use crate::kds::{TestKds, signed};
use crate::printer::{PrintedLine, TestPrinter};

const STORE: &str = "kitchen-downtown";

/// A signed feedback request, kept so it can be sent again as it is.
struct Feedback {
    path: String,
    body: Vec<u8>,
    headers: [(&'static str, String); 2],
}

impl Feedback {
    fn signed(path: &str, secret: &str, body: &Value) -> Feedback {
        let body = serde_json::to_vec(body).unwrap();
        Feedback {
            path: path.to_owned(),
            headers: signed(secret, &body),
            body,
        }
    }

    async fn send(&self, http: &reqwest::Client, bridge: &str) -> reqwest::Response {
        let mut request = http
            .post(format!("{bridge}/v1/feedback/{STORE}/{}", self.path))
            .header("content-type", "application/json");
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request.body(self.body.clone()).send().await.unwrap()
    }
}

async fn feedback(
    http: &reqwest::Client,
    bridge: &str,
    path: &str,
    secret: &str,
    body: &Value,
) -> reqwest::Response {
    Feedback::signed(path, secret, body)
        .send(http, bridge)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_shown_accepted_printed_and_bumped_to_ready_from_the_display() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    let mut printer = TestPrinter::start().await;
    let kds = TestKds::start().await;
    let settings = env.bridge_settings(vec![(
        STORE,
        store_settings(
            STORE,
            &[printer.addr.to_string()],
            std::slice::from_ref(&kds.url),
            10,
            true,
        ),
    )]);
    let bridge = env.start_bridge(settings).await.unwrap();

    let order_id = place(&env, STORE, None).await;

    // At once to the display, with the order, so the store can act on it.
    let shown = kds.wait_for(&format!("{order_id}:order")).await;
    assert_eq!(shown.body["kind"], "order");
    assert_eq!(shown.body["number"], order_number(order_id));
    assert_eq!(shown.body["order"]["lines"][0]["name"], "Classic Burger");
    // Auto-accept: the bridge accepted it through command-api.
    env.wait_status(order_id, "accepted").await;
    kds.wait_for(&format!("{order_id}:status:accepted")).await;
    // An as-soon-as-possible order fires at once: printed, and on the display.
    let ticket = printer.next().await;
    assert!(ticket.initialised && ticket.cut, "{ticket:?}");
    assert!(ticket.banners.is_empty(), "{ticket:?}");
    assert_eq!(ticket.number, format!("#{}", order_number(order_id)));
    let pickup = ticket.pickup.clone().unwrap();
    assert!(
        pickup.starts_with("PICKUP ") && pickup.ends_with(" ASAP"),
        "{pickup}"
    );
    assert_eq!(
        ticket.lines,
        [PrintedLine {
            quantity: 2,
            name: "Classic Burger".into(),
            modifiers: vec!["Cheddar".into()],
            notes: vec!["no onions".into()],
        }]
    );
    kds.wait_for(&format!("{order_id}:kitchen")).await;

    // The display bumps it: ready in the query API.
    let bumped = feedback(
        &env.http,
        &bridge.url,
        "kds",
        KDS_SECRET,
        &json!({"order_id": order_id, "event": "bumped", "ticket_id": format!("{order_id}:kitchen")}),
    )
    .await;
    assert_eq!(bumped.status(), 200, "{}", bumped.text().await.unwrap());
    env.wait_status(order_id, "ready").await;
    kds.wait_for(&format!("{order_id}:status:ready")).await;
    // Picked up: completed.
    let picked = feedback(
        &env.http,
        &bridge.url,
        "kds",
        KDS_SECRET,
        &json!({"order_id": order_id, "event": "picked_up"}),
    )
    .await;
    assert_eq!(picked.status(), 200);
    env.wait_status(order_id, "completed").await;

    // A forged or altered callback is refused, as problem+json.
    let forged = feedback(
        &env.http,
        &bridge.url,
        "kds",
        "not-the-secret-at-all",
        &json!({"order_id": order_id, "event": "started"}),
    )
    .await;
    assert_eq!(forged.status(), 401);
    assert_eq!(forged.headers()["content-type"], "application/problem+json");
    let body: Value = forged.json().await.unwrap();
    assert_eq!(body["code"], "invalid_signature");
    let unknown = env
        .http
        .post(format!("{}/v1/feedback/nowhere/kds", bridge.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // A transition command-api refuses comes back as command-api's problem.
    let late = feedback(
        &env.http,
        &bridge.url,
        "kds",
        FEEDBACK_SECRET,
        &json!({"order_id": order_id, "event": "started"}),
    )
    .await;
    assert_eq!(late.status(), 409);
    assert_eq!(
        late.json::<Value>().await.unwrap()["code"],
        "invalid_transition"
    );

    let doc: Value = env
        .http
        .get(format!("{}/openapi.json", bridge.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/v1/feedback/{store_id}/kds"]["post"].is_object());
    for (method, path, status, code) in [
        (reqwest::Method::POST, "/v1/nowhere", 404, "not_found"),
        (
            reqwest::Method::GET,
            "/v1/feedback/x/kds",
            405,
            "method_not_allowed",
        ),
    ] {
        let answer = env
            .http
            .request(method, format!("{}{path}", bridge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status);
        assert_eq!(answer.headers()["content-type"], "application/problem+json");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["code"], code);
    }

    let metrics = env
        .http
        .get(format!("{}/metrics", bridge.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "qsr_bridge_tickets_delivered_total{sink=\"printer\"}",
        "qsr_bridge_tickets_delivered_total{sink=\"kds\"}",
        "qsr_bridge_tickets_delivered_total{sink=\"command_api\"}",
        "qsr_bridge_queue_depth{",
        "qsr_bridge_fire_delay_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }

    assert_eq!(
        kds.bad_signatures(),
        0,
        "every webhook was signed correctly"
    );
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_that_fired_prints_cancelled_and_a_replay_prints_reprints() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    let mut printer = TestPrinter::start().await;
    let settings = env.bridge_settings(vec![(
        STORE,
        store_settings(STORE, &[printer.addr.to_string()], &[], 10, false),
    )]);
    let bridge = env.start_bridge(settings).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);

    let order_id = place(&env, STORE, None).await;
    let fired = printer.next().await;
    assert_eq!(fired.number, format!("#{}", order_number(order_id)));
    let staff = token(Role::Staff, "staff-1", &[STORE]);
    let cancel = env
        .http
        .post(format!("{}/v1/orders/{order_id}/cancel", env.command_api()))
        .bearer_auth(&staff)
        .json(&json!({"reason": "out of buns"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200, "{}", cancel.text().await.unwrap());
    let cancelled = printer.next().await;
    assert_eq!(cancelled.banners, ["CANCELLED"]);
    assert_eq!(cancelled.number, fired.number);
    assert_eq!(
        cancelled.lines, fired.lines,
        "the kitchen sees what to stop"
    );
    assert_eq!(cancelled.reason.as_deref(), Some("out of buns"));
    assert!(cancelled.cut);

    // The POS says cheddar ran out: command-api refuses it from then on.
    let out = Feedback::signed(
        "stock",
        FEEDBACK_SECRET,
        &json!({"id": "cheddar", "available": false}),
    );
    let answer = out.send(&env.http, &bridge.url).await;
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    let (status, body) = try_place(&env, STORE, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("modifier_unavailable")),
        "{body}"
    );
    let back = feedback(
        &env.http,
        &bridge.url,
        "stock",
        FEEDBACK_SECRET,
        &json!({"id": "cheddar", "available": true}),
    )
    .await;
    assert_eq!(back.status(), 200);
    let back: Value = back.json().await.unwrap();
    // Someone who captured the "out" sends it again, byte for byte, within
    // the signature's tolerance: command-api takes it for the request it has
    // answered already and decides nothing, so cheddar stays available.
    let replayed = out.send(&env.http, &bridge.url).await;
    assert_eq!(replayed.status(), 200);
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(
        replayed["version"], back["version"],
        "the replay wrote no event: {replayed}"
    );
    let bad = feedback(
        &env.http,
        &bridge.url,
        "stock",
        FEEDBACK_SECRET,
        &json!({"id": "Cheddar!", "available": true}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    // An order with cheddar goes through: the replay did not take it off.
    let second = place(&env, STORE, None).await;
    let second_ticket = printer.next().await;
    assert_eq!(second_ticket.number, format!("#{}", order_number(second)));

    // Replay: every ticket since then again, in order, under REPRINT.
    let replayed = pos_bridge::replay(&env.pool(), STORE, since, crate::helpers::PATIENCE)
        .await
        .unwrap();
    assert_eq!(
        replayed,
        pos_bridge::Replayed {
            queued: 3,
            pending: 0
        }
    );
    let reprints: Vec<_> = [
        printer.next().await,
        printer.next().await,
        printer.next().await,
    ]
    .into();
    assert_eq!(reprints[0].banners, ["REPRINT"]);
    assert_eq!(reprints[0].lines, fired.lines);
    assert_eq!(reprints[1].banners, ["REPRINT", "CANCELLED"]);
    assert_eq!(reprints[2].banners, ["REPRINT"]);
    assert_eq!(reprints[2].number, second_ticket.number);

    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}
