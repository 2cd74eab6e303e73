# Builds the identity service, the four services, and `loadgen` for the demo data, into one small
# runtime image; compose.yaml picks the binary with `command`.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# librdkafka is built from source by rdkafka-sys.
RUN apt-get update && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p identity -p command-api -p projector -p query-api -p pos-bridge -p bench

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/identity /src/target/release/command-api /src/target/release/projector \
     /src/target/release/query-api /src/target/release/pos-bridge \
     /src/target/release/loadgen /usr/local/bin/
USER nobody
