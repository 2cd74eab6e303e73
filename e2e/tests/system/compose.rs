//! compose.yaml cannot run here (no Docker engine), so this checks what can be
//! checked without one: every service can be built or pulled, and every
//! environment variable it sets on our services is one that a binary reads.

use std::collections::BTreeSet;

use clap::CommandFactory;
use serde_json::Value;

/// Every environment variable our binaries read through their settings, plus
/// `RUST_LOG`, which the log filter reads.
fn variables_read() -> BTreeSet<String> {
    fn collect(command: &clap::Command, into: &mut BTreeSet<String>) {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                into.insert(env.to_string_lossy().into_owned());
            }
        }
        for sub in command.get_subcommands() {
            collect(sub, into);
        }
    }
    let mut read = BTreeSet::from(["RUST_LOG".to_owned()]);
    for command in [
        command_api::Config::command(),
        identity::Config::command(),
        projector::Config::command(),
        query_api::Config::command(),
        pos_bridge::Cli::command(),
    ] {
        collect(&command, &mut read);
    }
    read
}

/// compose.yaml with its `<<:` merge keys applied (each service's shared
/// token settings), as compose reads it.
fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../compose.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    yaml.apply_merge().unwrap();
    serde_yaml::from_value(yaml).unwrap()
}

/// `environment` as a map or as a list of `NAME=value`.
fn environment_names(service: &Value) -> Vec<String> {
    match &service["environment"] {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|v| v.as_str())
            .map(|s| s.split('=').next().unwrap_or(s).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_service_has_an_image_or_a_build() {
    let compose = compose();
    let services = compose["services"].as_object().unwrap();
    for name in [
        "kafka",
        "postgres",
        "command-api",
        "projector",
        "query-api",
        "pos-bridge",
    ] {
        assert!(services.contains_key(name), "compose.yaml has no {name}");
    }
    for (name, service) in services {
        assert!(
            service.get("image").is_some() || service.get("build").is_some(),
            "{name} has neither an image nor a build"
        );
    }
}

#[test]
fn our_services_set_only_variables_that_a_binary_reads() {
    let read = variables_read();
    let compose = compose();
    let mut checked = 0;
    for (name, service) in compose["services"].as_object().unwrap() {
        if service.get("build").is_none() {
            continue; // The official Kafka and Postgres images read their own.
        }
        for variable in environment_names(service) {
            assert!(
                read.contains(&variable),
                "{name} sets {variable}, which no binary reads"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 10,
        "only {checked} variables checked: is compose.yaml's environment empty?"
    );
}

#[test]
fn services_wait_for_healthy_dependencies() {
    let compose = compose();
    for name in ["command-api", "projector", "query-api", "pos-bridge"] {
        let depends = &compose["services"][name]["depends_on"];
        assert_eq!(
            depends["kafka"]["condition"], "service_healthy",
            "{name} -> kafka"
        );
        for (_, dependency) in depends.as_object().unwrap() {
            assert!(
                dependency["condition"].is_string(),
                "{name}: depends_on without a condition"
            );
        }
    }
    for name in ["kafka", "postgres"] {
        assert!(
            compose["services"][name]["healthcheck"]["test"].is_array(),
            "{name} has no health check"
        );
    }
}

/// The gateway is the one published port (and Mailpit's inbox, a
/// development stand-in); Kafka, Postgres and the services are reached only
/// inside compose's network.
#[test]
fn only_the_gateway_is_published() {
    let compose = compose();
    let published: Vec<&String> = compose["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, service)| service.get("ports").is_some())
        .map(|(name, _)| name)
        .collect();
    assert_eq!(published, ["gateway", "mail"]);
}
