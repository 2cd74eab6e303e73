//! loadgen: the benchmarks of BENCHMARKS.md.
//!
//! - `place` (the default): places realistic orders (one to four lines, valid
//!   modifiers) over many stores through command-api, with N concurrent
//!   clients, at a fixed rate or flat out, and prints throughput, latency
//!   percentiles and errors.
//! - `catchup`: pre-fills fresh topics with a realistic history and times the
//!   projector reading it into a fresh database.
//! - `lag`: places orders at a fixed rate and times each one from its `201`
//!   until the read model shows it.
//! - `demo`: seeds the local stack's demo store, menu and orders (`make up`
//!   runs it); not a benchmark, but the same kind of client of the API.
//!
//! `make bench` runs it against the local stack.

mod catchup;
mod demo;
mod history;
mod identity;
mod lag;
mod place;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "Benchmarks of the write and read paths; without a subcommand, `place` \
             (whose options may then come first)."
)]
struct Cli {
    /// command-api's base URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    place: place::PlaceArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Places orders through command-api and prints throughput and latency.
    Place(place::PlaceArgs),
    /// Times the projector catching up with a pre-filled log.
    Catchup(catchup::CatchupArgs),
    /// Times each order from its `201` until the read model shows it.
    Lag(lag::LagArgs),
    /// Seeds the demo store, its menu and three orders; safe to run again.
    ///
    /// Publishes the store `demo-downtown` and its menu (stack/demo/store.json,
    /// menu.json) through command-api (--url), places three orders of the
    /// demo customer and takes one to accepted and one to ready, then reads
    /// each back from query-api; the tokens come from identity (the admin and
    /// staff log in, the customer registers or logs in). `make up` runs it.
    Demo(demo::DemoArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        None => place::run(&cli.url, &cli.place).await,
        Some(Command::Place(args)) => place::run(&cli.url, args).await,
        Some(Command::Catchup(args)) => catchup::run(args).await,
        Some(Command::Lag(args)) => lag::run(&cli.url, args).await,
        Some(Command::Demo(args)) => demo::run(&cli.url, args).await,
    }
}
