# The two commands of the README, and the few around them. The work is done by
# stack/stack.sh; `stack/stack.sh help` explains each command.

.PHONY: run up down test lint bench bench-cpu bench-read bench-bridge infra-up infra-down status logs deps

## Start Kafka, Postgres, the mail sink, identity, the four services, the
## gateway and the demo store; Ctrl-C stops all.
run:
	@stack/stack.sh run

## The same, in the background.
up:
	@stack/stack.sh up

## Stop what `up` or `run` started.
down:
	@stack/stack.sh down

## Every test, against the real Kafka and Postgres (started if not running).
test:
	@stack/stack.sh test

## The load generator against the local stack: flat out, then at a fixed rate
## (override with ARGS="--rate 2500 --clients 128"). See BENCHMARKS.md.
bench:
	@stack/stack.sh bench $(or $(ARGS),--clients 256 --duration 20)

## CPU per placed order, per process (from /proc), around `make bench`; the
## stack must be up.
bench-cpu:
	@bench/cpu-per-order.sh $(or $(ARGS),--clients 256 --duration 20)

## The read-side benchmarks of BENCHMARKS.md ("Read side"), on a running stack.
bench-read:
	@stack/stack.sh bench catchup --events 1000000
	@stack/stack.sh bench lag --rate 1000 --duration 30
	@bench/read-throughput.sh

## The bridge's benchmark of BENCHMARKS.md ("Kitchen tickets"), with the infra up.
bench-bridge:
	cargo run --release -p pos-bridge --example bench -- $(or $(ARGS),--stores 100 --orders 10000 --rate 200 --seconds 20)

## Formatting and lints, as CI checks them; that the documents name only
## paths that exist, that no crate's modules import each other in a cycle,
## and that the gateway's configuration is valid (haproxy -c).
lint:
	stack/check-docs.py
	stack/stack.sh gateway-check
	stack/check-module-cycles.py
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

infra-up:
	@stack/stack.sh infra-up

infra-down:
	@stack/stack.sh infra-down

status:
	@stack/stack.sh status

logs:
	@stack/stack.sh logs

deps:
	@stack/stack.sh deps
