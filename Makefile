# The two commands of the README, and the few around them. The work is done by
# stack/stack.sh; `stack/stack.sh help` explains each command.

.PHONY: run up down test lint bench infra-up infra-down status logs deps

## Start Kafka, Postgres, the four services and the demo store; Ctrl-C stops all.
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

## Formatting and lints, as CI checks them.
lint:
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
