//! The contract fuzz: schemathesis (`st`, installed by `stack/stack.sh deps`)
//! generates requests from each HTTP service's `/openapi.json`, as each role,
//! runs every check it has, and fails on any finding: a `5xx`, an answer the
//! document does not list or that does not fit its schema, a schema-valid
//! request refused as malformed (the document misses a rule), a schema-invalid
//! one accepted (the document states a rule the server does not keep), ...
//! Its settings and hooks are in `e2e/schemathesis/`. A second test shows the
//! fuzz fails when a document is loosened.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    FEEDBACK_SECRET, Order, PATIENCE, STORE, Service, System, expect, store_body,
};

/// Whether findings in command-api's document fail the test: they do, now
/// that it states every rule its handlers enforce (issue 10).
const COMMAND_API_STRICT: bool = true;

/// The schemathesis CLI: `QSR_SCHEMATHESIS` (`make test` sets it), else the
/// project's virtualenv.
fn schemathesis() -> PathBuf {
    let path = std::env::var_os("QSR_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".stack/venv/bin/st"));
    assert!(
        path.exists(),
        "schemathesis is not installed at {}: run `stack/stack.sh deps` (or set QSR_SCHEMATHESIS)",
        path.display()
    );
    path
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e lives in the workspace")
        .to_path_buf()
}

fn harness() -> PathBuf {
    workspace().join("e2e/schemathesis")
}

/// One schemathesis run and what it said.
struct Run {
    name: String,
    passed: bool,
    output: String,
    seconds: f64,
}

/// Runs `st run <location>` with the project's settings (plus `extra_config`
/// appended to them), its hooks and `args`, in a blocking task.
async fn st_run(name: String, location: String, extra_config: String, args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let dir = std::env::temp_dir().join(format!("qsr-fuzz-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let template = std::fs::read_to_string(harness().join("schemathesis.toml")).unwrap();
        let config = dir.join("schemathesis.toml");
        std::fs::write(&config, format!("{template}\n{extra_config}")).unwrap();
        let started = Instant::now();
        let output = Command::new(schemathesis())
            .arg("--config-file")
            .arg(&config)
            .args(["--no-color", "run", &location, "--checks", "all"])
            // A read may wait `wait_ms` (at most 10 s) for a version: it
            // answers within 12 s, or it is a finding.
            .args(["--request-timeout", "15", "--max-response-time", "12"])
            .args(&args)
            .env("SCHEMATHESIS_HOOKS", harness().join("hooks.py"))
            .env("QSR_FUZZ_FEEDBACK_SECRET", FEEDBACK_SECRET)
            .current_dir(&dir)
            .output()
            .expect("running schemathesis");
        let seconds = started.elapsed().as_secs_f64();
        std::fs::remove_dir_all(&dir).ok();
        Run {
            name,
            passed: output.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
            seconds,
        }
    })
    .await
    .unwrap()
}

/// What the fuzz has to work with: the test store and its menu, and orders in
/// every final status, so generated requests also name things that exist.
struct Seeded {
    /// Orders that ended (completed, rejected, cancelled): their event streams
    /// end, so a generated read of one never hangs.
    ended: Vec<String>,
}

async fn seed(system: &System) -> Seeded {
    system.open_store(STORE, &store_body(50)).await;
    let place = || async {
        let body = Order {
            lines: json!([{"item_id": "classic", "quantity": 1, "modifiers": ["cheddar"], "note": "no onions"}]),
            tip: Some(100),
            ..Order::at(STORE)
        }
        .body();
        system.place(&body).await
    };
    let step = |order: String, command: &'static str, body: Value| async move {
        let path = format!("/v1/orders/{order}/{command}");
        expect(
            system.post(&path, &system.tokens.staff, &body).await,
            StatusCode::OK,
            None,
        )
        .await["version"]
            .as_i64()
            .unwrap()
    };
    let completed = place().await;
    for command in ["accept", "start", "ready"] {
        step(completed.clone(), command, json!({})).await;
    }
    let last = step(completed.clone(), "complete", json!({})).await;
    let rejected = place().await;
    step(rejected.clone(), "reject", json!({"reason": "out of buns"})).await;
    let cancelled = place().await;
    step(
        cancelled.clone(),
        "cancel",
        json!({"reason": "customer called"}),
    )
    .await;
    // One order stays in the kitchen queue.
    place().await;
    // Every seeded order is in the read model before the fuzz reads it.
    let read = system
        .read(
            &format!("/v1/orders/{completed}?min_version={last}&wait_ms=10000"),
            &system.tokens.admin,
        )
        .await;
    expect(read, StatusCode::OK, None).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let queue = system
            .read(&format!("/v1/stores/{STORE}/orders"), &system.tokens.staff)
            .await;
        let page = expect(queue, StatusCode::OK, None).await;
        if !page["orders"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no queue: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Seeded {
        ended: vec![completed, rejected, cancelled],
    }
}

/// The settings appended for one service: the seeded ids as dictionaries, so
/// a share of the generated requests name the test store, its ended orders
/// and its menu's items.
fn dictionaries(seeded: &Seeded) -> String {
    let quoted = |ids: &[String]| {
        ids.iter()
            .map(|id| format!("\"{id}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "[dictionaries.stores]\nvalues = [\"{STORE}\"]\n\n\
         [dictionaries.orders]\nvalues = [{}]\n\n\
         [dictionaries.catalog]\nvalues = [\"classic\", \"cheddar\", \"swiss\"]\n\n\
         [parameters]\n\
         \"path.store_id\" = {{ dictionary = \"stores\", probability = 0.7 }}\n\
         \"path.order_id\" = {{ dictionary = \"orders\", probability = 0.7 }}\n\
         \"body.order_id\" = {{ dictionary = \"orders\", probability = 0.7 }}\n\
         \"body.id\" = {{ dictionary = \"catalog\", probability = 0.7 }}\n",
        quoted(&seeded.ended)
    )
}

fn bearer(token: &str) -> Vec<String> {
    vec!["-H".into(), format!("Authorization: Bearer {token}")]
}

/// Each service's document, as each role (pos-bridge's feedback routes are
/// signed, not bearer-authenticated: one run, signed by the hooks), with no
/// finding.
#[tokio::test(flavor = "multi_thread")]
async fn every_document_states_what_its_service_enforces() {
    let st = schemathesis();
    let system = System::builder().with_bridge().start().await.unwrap();
    let seeded = seed(&system).await;
    let config = dictionaries(&seeded);
    let roles = [
        ("customer", system.tokens.customer.clone()),
        ("staff", system.tokens.staff.clone()),
        ("pos", system.tokens.pos.clone()),
        ("admin", system.tokens.admin.clone()),
    ];
    let mut plan: Vec<(String, String, Vec<String>)> = Vec::new();
    for (role, token) in &roles {
        // Two runs per role, so the reads that wait (an order's version, its
        // events) overlap with the others.
        for (part, filter) in [
            ("orders", "--include-path-regex"),
            ("stores and history", "--exclude-path-regex"),
        ] {
            let mut args = bearer(token);
            args.extend([filter.to_owned(), "^/v1/orders/".to_owned()]);
            plan.push((
                format!("query-api ({part}) as {role}"),
                format!("{}/openapi.json", system.query_api()),
                args,
            ));
        }
    }
    plan.push((
        "pos-bridge, signed".into(),
        format!("{}/openapi.json", system.bridge()),
        Vec::new(),
    ));
    for (role, token) in &roles {
        plan.push((
            format!("command-api as {role}"),
            format!("{}/openapi.json", system.command_api()),
            bearer(token),
        ));
    }
    println!("schemathesis: {}", st.display());
    let started = Instant::now();
    // Three runs at a time: much of a run is waiting on the services (reads
    // that wait for a version), and the machine has two cores.
    let plan = std::sync::Arc::new(std::sync::Mutex::new(plan.into_iter()));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (plan, config) = (plan.clone(), config.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let next = plan.lock().unwrap().next();
                    let Some((name, url, args)) = next else {
                        return done;
                    };
                    done.push(st_run(name, url, config.clone(), args).await);
                }
            })
        })
        .collect();
    let mut runs = Vec::new();
    for worker in workers {
        runs.extend(worker.await.unwrap());
    }
    println!("the fuzz took {:.0} s", started.elapsed().as_secs_f64());
    let mut failed = Vec::new();
    for run in &runs {
        let strict = COMMAND_API_STRICT || !run.name.starts_with("command-api");
        let verdict = match (run.passed, strict) {
            (true, _) => "no finding",
            (false, true) => "FINDINGS",
            (false, false) => "findings (not failed on: COMMAND_API_STRICT is false)",
        };
        println!(
            "==== {} ({:.0} s): {verdict}\n{}",
            run.name, run.seconds, run.output
        );
        if !run.passed && strict {
            failed.push(run.name.clone());
        }
    }
    system.stop().await.unwrap();
    assert!(
        failed.is_empty(),
        "schemathesis found what the documents do not state, in: {failed:?} (the reports are above)"
    );
}

/// identity's document, as anyone, a customer and an admin, with no finding.
/// Its token endpoint answers RFC 6749's errors (`error`, not a problem
/// `code`); the hooks read those.
#[tokio::test(flavor = "multi_thread")]
async fn identitys_document_states_what_it_enforces() {
    schemathesis();
    let system = System::builder()
        .prefix("e2e-fuzz-identity")
        .only([Service::Identity])
        .start()
        .await
        .unwrap();
    let url = format!("{}/openapi.json", system.identity());
    let config = format!(
        "[dictionaries.stores]\nvalues = [\"{STORE}\"]\n\n\
         [parameters]\n\
         \"path.store_id\" = {{ dictionary = \"stores\", probability = 0.7 }}\n"
    );
    let plan = [
        ("identity as anyone", Vec::new()),
        ("identity as customer", bearer(&system.tokens.customer)),
        ("identity as admin", bearer(&system.tokens.admin)),
    ];
    let runs = futures::future::join_all(
        plan.into_iter()
            .map(|(name, args)| st_run(name.to_owned(), url.clone(), config.clone(), args)),
    )
    .await;
    let mut failed = Vec::new();
    for run in &runs {
        let verdict = if run.passed { "no finding" } else { "FINDINGS" };
        println!(
            "==== {} ({:.0} s): {verdict}\n{}",
            run.name, run.seconds, run.output
        );
        if !run.passed {
            failed.push(run.name.clone());
        }
    }
    system.stop().await.unwrap();
    assert!(
        failed.is_empty(),
        "schemathesis found what identity's document does not state, in: {failed:?}"
    );
}

/// The fuzz is not vacuous: served a copy of query-api's document without the
/// `maximum` of `limit` (the server refuses more than 200), schemathesis
/// generates larger limits as valid and reports their refusal.
#[tokio::test(flavor = "multi_thread")]
async fn a_loosened_document_fails_the_fuzz() {
    schemathesis();
    let system = System::builder().with_bridge().start().await.unwrap();
    let doc: Value = system
        .http
        .get(format!("{}/openapi.json", system.query_api()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = "/v1/customers/me/orders";
    let mut loosened = doc.clone();
    let limit = loosened["paths"][path]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["name"] == "limit")
        .expect("the document states `limit`");
    let removed = limit["schema"].as_object_mut().unwrap().remove("maximum");
    assert_eq!(removed, Some(json!(200)), "{limit}");
    let dir = std::env::temp_dir().join(format!("qsr-loosened-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&loosened).unwrap()).unwrap();
    let mut args = bearer(&system.tokens.customer);
    args.extend([
        "--url".to_owned(),
        system.query_api(),
        "--include-path".to_owned(),
        path.to_owned(),
    ]);
    let run = st_run(
        "query-api, loosened".into(),
        file.display().to_string(),
        String::new(),
        args,
    )
    .await;
    std::fs::remove_dir_all(&dir).ok();
    system.stop().await.unwrap();
    println!("{}", run.output);
    assert!(
        !run.passed,
        "schemathesis found nothing in a loosened document"
    );
    assert!(
        run.output
            .contains("schema_valid_request_not_refused_as_malformed"),
        "the finding is not the refusal of a limit over 200"
    );
    assert!(run.output.contains("invalid_query"), "{}", run.output);
}
