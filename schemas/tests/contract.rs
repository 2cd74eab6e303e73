//! The wire contract holds: every event the domain emits round-trips, matches
//! its JSON Schema file, and is documented in EVENTS.md; old versions are read.
//!
//! `schemas/json/` and `schemas/EVENTS.md` are generated: after a change to a
//! payload or to the catalog, run `QSR_BLESS=1 cargo test -p schemas` and
//! review the diff.

// A test fails by panicking; helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use schemas::examples::{LEGACY_ORDER_PLACED_V1, LEGACY_STORE_CONFIGURED_V1, a_day_at_a_store};
use schemas::{
    DecodeError, ENVELOPE_FILE, EVENT_TYPES, EventData, Provenance, decode, encode,
    envelope_schema, schema_file, to_wire,
};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn bless() -> bool {
    std::env::var_os("QSR_BLESS").is_some()
}

/// Compares a generated file with the one on disk, or writes it when blessing.
fn check_generated(path: &Path, generated: &str) {
    if bless() {
        std::fs::write(path, generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is out of date; run `QSR_BLESS=1 cargo test -p schemas` and review the diff",
        path.display()
    );
}

fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_schema_files_are_generated_from_the_code() {
    let dir = root().join("json");
    for event_type in EVENT_TYPES {
        check_generated(
            &dir.join(schema_file(event_type.name)),
            &pretty(&event_type.json_schema()),
        );
    }
    check_generated(&dir.join(ENVELOPE_FILE), &pretty(&envelope_schema()));
    // Nothing else lives there: a schema is never orphaned or hand-written.
    let mut expected: BTreeSet<String> = EVENT_TYPES.iter().map(|t| schema_file(t.name)).collect();
    expected.insert(ENVELOPE_FILE.to_owned());
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn every_schema_file_is_a_valid_json_schema_with_an_id_and_a_description() {
    for entry in std::fs::read_dir(root().join("json")).unwrap() {
        let path = entry.unwrap().path();
        let schema = read_json(&path);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{path:?}"
        );
        assert!(
            schema["$id"]
                .as_str()
                .is_some_and(|id| id.ends_with(&*path.file_name().unwrap().to_string_lossy()))
        );
        assert!(
            schema["description"].as_str().is_some_and(|d| d.len() > 20),
            "{path:?}"
        );
        jsonschema::meta::validate(&schema)
            .unwrap_or_else(|e| panic!("{path:?} is not a valid JSON Schema: {e}"));
    }
}

#[test]
fn every_current_event_type_is_emitted_by_the_domain_and_every_emitted_type_is_catalogued() {
    let emitted: BTreeSet<&str> = a_day_at_a_store()
        .iter()
        .map(|e| e.data.event_type())
        .collect();
    let current: BTreeSet<&str> = EVENT_TYPES
        .iter()
        .filter(|t| t.current)
        .map(|t| t.name)
        .collect();
    assert_eq!(emitted, current);
}

#[test]
fn every_event_round_trips_through_the_wire_format_unchanged() {
    for event in a_day_at_a_store() {
        let bytes = encode(&event).unwrap();
        assert_eq!(decode(&bytes).unwrap(), event);
        // And through the domain: wire -> domain -> wire gives the same record.
        let domain_event = event.to_domain().unwrap();
        let provenance = Provenance {
            id: event.meta.id,
            source: event.meta.source.clone(),
            time: event.meta.time,
            correlation_id: event.meta.correlation_id.clone(),
            causation_id: event.meta.causation_id.clone(),
        };
        assert_eq!(
            to_wire(&domain_event, event.meta.version, provenance),
            event
        );
    }
}

#[test]
fn every_event_validates_against_its_schema_file_and_the_envelope_schema() {
    let dir = root().join("json");
    let envelope = jsonschema::validator_for(&read_json(&dir.join(ENVELOPE_FILE))).unwrap();
    for event in a_day_at_a_store() {
        let record: Value = serde_json::from_slice(&encode(&event).unwrap()).unwrap();
        let event_type = record["type"].as_str().unwrap().to_owned();
        if let Err(e) = envelope.validate(&record) {
            panic!("the envelope of {event_type} is invalid: {e}");
        }
        let file = dir.join(schema_file(&event_type));
        assert_eq!(
            record["dataschema"],
            format!("urn:qsr:schemas/json/{}", schema_file(&event_type))
        );
        let data = jsonschema::validator_for(&read_json(&file)).unwrap();
        if let Err(e) = data.validate(&record["data"]) {
            panic!("{event_type}: {e}\n{}", record["data"]);
        }
    }
}

#[test]
fn a_schema_file_rejects_data_that_breaks_it() {
    let dir = root().join("json");
    let placed =
        jsonschema::validator_for(&read_json(&dir.join("qsr.order.placed.v2.json"))).unwrap();
    let event = a_day_at_a_store()
        .into_iter()
        .find(|e| e.data.event_type() == "qsr.order.placed.v2")
        .unwrap();
    let mut data =
        serde_json::from_slice::<Value>(&encode(&event).unwrap()).unwrap()["data"].clone();
    assert!(placed.is_valid(&data));
    data["totals"]["total"]["currency"] = "usd".into();
    assert!(!placed.is_valid(&data));
    data["totals"]["total"]["currency"] = "USD".into();
    data["surprise"] = true.into();
    assert!(!placed.is_valid(&data));
}

#[test]
fn a_v1_order_placed_record_is_read_as_v2() {
    let event = decode(LEGACY_ORDER_PLACED_V1.as_bytes()).unwrap();
    let EventData::OrderPlaced(placed) = &event.data else {
        panic!("{event:?}")
    };
    assert_eq!(event.data.event_type(), "qsr.order.placed.v2");
    assert_eq!(placed.customer_id, None);
    assert_eq!(placed.slot, placed.pickup_at);
    assert_eq!(placed.totals.total.amount, 380);
    // It is a valid v1 record, and the domain reads it as a guest order.
    let record: Value = serde_json::from_str(LEGACY_ORDER_PLACED_V1).unwrap();
    let v1 = jsonschema::validator_for(&read_json(&root().join("json/qsr.order.placed.v1.json")))
        .unwrap();
    assert!(v1.is_valid(&record["data"]));
    let domain_event = event.to_domain().unwrap();
    let domain::Change::Order {
        event: domain::OrderEvent::Placed(p),
        ..
    } = domain_event.change
    else {
        panic!()
    };
    assert_eq!(p.customer_id, None);
}

/// The record of an event type no longer written, as the log holds it.
fn legacy_example(event_type: &str) -> &'static str {
    match event_type {
        "qsr.order.placed.v1" => LEGACY_ORDER_PLACED_V1,
        "qsr.store.configured.v1" => LEGACY_STORE_CONFIGURED_V1,
        other => panic!("no example of the legacy event type {other}"),
    }
}

#[test]
fn a_v1_store_configured_record_is_read_as_v2_with_the_default_limits() {
    let record: Value = serde_json::from_str(LEGACY_STORE_CONFIGURED_V1).unwrap();
    let v1 = jsonschema::validator_for(&read_json(
        &root().join("json/qsr.store.configured.v1.json"),
    ))
    .unwrap();
    assert!(v1.is_valid(&record["data"]));
    let event = decode(LEGACY_STORE_CONFIGURED_V1.as_bytes()).unwrap();
    assert_eq!(event.data.event_type(), "qsr.store.configured.v2");
    let domain::Change::Store(domain::StoreEvent::Configured(profile)) =
        event.to_domain().unwrap().change
    else {
        panic!("{event:?}")
    };
    assert_eq!(
        profile.limits,
        domain::OrderLimits::defaults(domain::Currency::parse("USD").unwrap())
    );
    // Written again, it is a v2 record that its schema accepts.
    let v2 = jsonschema::validator_for(&read_json(
        &root().join("json/qsr.store.configured.v2.json"),
    ))
    .unwrap();
    let written: Value = serde_json::from_slice(&encode(&event).unwrap()).unwrap();
    assert_eq!(written["type"], "qsr.store.configured.v2");
    assert!(v2.is_valid(&written["data"]));
}

#[test]
fn bad_records_give_typed_errors() {
    assert!(matches!(decode(b"not json"), Err(DecodeError::Envelope(_))));
    let record: Value = serde_json::from_slice(&encode(&a_day_at_a_store()[0]).unwrap()).unwrap();
    let with = |field: &str, value: Value, inner: bool| {
        let mut r = record.clone();
        if inner {
            r["data"][field] = value
        } else {
            r[field] = value
        }
        decode(&serde_json::to_vec(&r).unwrap())
    };
    assert!(
        matches!(with("type", "qsr.order.teleported.v1".into(), false), Err(DecodeError::UnknownType(t)) if t == "qsr.order.teleported.v1")
    );
    assert!(matches!(
        with("specversion", "0.3".into(), false),
        Err(DecodeError::SpecVersion(_))
    ));
    assert!(matches!(
        with("tax_rate_bps", "lots".into(), true),
        Err(DecodeError::Data { .. })
    ));
    assert!(matches!(
        with("aggversion", Value::Null, false),
        Err(DecodeError::Envelope(_))
    ));
}

#[test]
fn events_md_lists_every_event_type_with_a_real_example() {
    let day = a_day_at_a_store();
    let mut md = String::from(
        "# Events\n\n\
         Generated by `schemas/tests/contract.rs` from the code: do not edit; run\n\
         `QSR_BLESS=1 cargo test -p schemas` after a change.\n\n\
         Every record of `qsr.stores` and `qsr.orders` is a CloudEvents 1.0 event in structured\n\
         JSON mode (`content-type: application/cloudevents+json`), keyed by store id, with the\n\
         event type also in the `ce_type` header. Its envelope is described by\n\
         [`json/cloudevent.json`](json/cloudevent.json); its `data` by the file its `dataschema`\n\
         names. Besides the CloudEvents attributes it carries `storeid`, `aggversion` (the\n\
         aggregate's version after the event: gapless per `subject`), `correlationid`,\n\
         `causationid` and, for requests that had one, `idempotencykey` and `requesthash`.\n\n\
         The examples below are one day at a store, decided by the domain.\n\n| type | when |\n|---|---|\n",
    );
    for t in EVENT_TYPES {
        md.push_str(&format!(
            "| [`{0}`](#{1}) | {2} |\n",
            t.name,
            t.name.replace('.', ""),
            t.description
        ));
    }
    for t in EVENT_TYPES {
        md.push_str(&format!(
            "\n## {}\n\n{}\n\nSchema: [`json/{}`](json/{})\n\n",
            t.name,
            t.description,
            schema_file(t.name),
            schema_file(t.name)
        ));
        let example: Value = if t.current {
            let event = day.iter().find(|e| e.data.event_type() == t.name).unwrap();
            serde_json::from_slice(&encode(event).unwrap()).unwrap()
        } else {
            serde_json::from_str(legacy_example(t.name)).unwrap()
        };
        md.push_str(&format!("```json\n{}```\n", pretty(&example)));
    }
    check_generated(&root().join("EVENTS.md"), &md);
}
