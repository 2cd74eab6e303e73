//! Exactly once across crashes (DESIGN.md, guarantee 4): while a writer
//! appends realistic event streams in Kafka transactions, some of them
//! aborted, the real `projector` binary is killed with SIGKILL at random
//! moments and restarted, or its Postgres stops the way a crash stops it and
//! starts again, or a second projector runs beside it; afterwards an
//! independent fold of the committed log equals the read models, row by row.
//!
//! Needs the shared Kafka (`QSR_KAFKA_BROKERS`) and Postgres
//! (`QSR_TEST_DATABASE_URL`), and the PostgreSQL 15 binaries (`PG_BIN`) for
//! the test's own cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checker;
mod cluster;
mod harness;
mod writer;

use std::time::Duration;

use checker::Log;
use cluster::Cluster;
use harness::{
    PATIENCE, POLL, Projector, Run, create_database, drop_database, random_moment,
    shared_database_url, wait_for_progress, wait_until_caught_up, with_database,
};
use writer::{Writer, Written};

/// Stores the writer drives: more than partitions, so that a partition holds
/// several stores.
const STORES: usize = 5;
/// Transactions committed before the projector first starts, so that it
/// starts behind and is killed while it catches up as well as when it keeps up.
const BACKLOG: usize = 300;
const KILLS: usize = 5;
const POSTGRES_RESTARTS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_models_equal_the_log_after_the_projector_is_killed_at_random_moments() {
    let run = Run::new("kill").await;
    let shared = shared_database_url();
    create_database(&shared, &run.database).await;
    let database_url = with_database(&shared, &run.database);
    let writer = start_writer(&run).await;
    let mut projector = Projector::start(
        run.projector_env(&database_url),
        run.dir.join("projector.log"),
    );

    let mut progress = 0;
    for _ in 0..KILLS {
        wait_for_progress(&database_url, progress, &mut projector).await;
        random_moment(0..1500).await;
        projector.kill().await;
        // What the killed process committed is what its successor starts from.
        progress = harness::progress(&database_url).await.unwrap_or(0);
        projector.restart();
    }
    wait_for_progress(&database_url, progress, &mut projector).await;

    let written = writer.stop().await;
    finish(&run, &database_url, &written, &mut projector).await;
    drop(projector);
    drop_database(&shared, &run.database).await;
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_models_equal_the_log_after_postgres_restarts_mid_run() {
    let run = Run::new("pg").await;
    let cluster = tokio::task::block_in_place(|| Cluster::start(&run.dir));
    create_database(&cluster.url("postgres"), "qsr").await;
    let database_url = cluster.url("qsr");
    let writer = start_writer(&run).await;
    let mut projector = Projector::start(
        run.projector_env(&database_url),
        run.dir.join("projector.log"),
    );

    let mut progress = 0;
    for _ in 0..POSTGRES_RESTARTS {
        wait_for_progress(&database_url, progress, &mut projector).await;
        random_moment(0..1000).await;
        tokio::task::block_in_place(|| cluster.stop_immediately());
        // The outage: the projector's transactions and connections fail.
        random_moment(200..2000).await;
        tokio::task::block_in_place(|| cluster.start_again());
        progress = harness::progress(&database_url).await.unwrap();
    }
    // The same process goes on by itself once Postgres is back.
    wait_for_progress(&database_url, progress, &mut projector).await;
    assert_eq!(projector.starts, 1);

    let written = writer.stop().await;
    finish(&run, &database_url, &written, &mut projector).await;
    drop(projector);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projectors_on_one_database_apply_each_record_once() {
    let run = Run::new("two").await;
    let shared = shared_database_url();
    create_database(&shared, &run.database).await;
    let database_url = with_database(&shared, &run.database);
    let writer = start_writer(&run).await;
    // A rolling deploy or a scaled-out compose: both read every partition
    // from the stored offsets and race to apply the same batches.
    let mut first = Projector::start(
        run.projector_env(&database_url),
        run.dir.join("projector.log"),
    );
    let mut second = Projector::start(
        run.projector_env(&database_url),
        run.dir.join("second-projector.log"),
    );
    let progress = wait_for_progress(&database_url, 0, &mut first).await;
    wait_for_progress(&database_url, progress, &mut second).await;

    let written = writer.stop().await;
    finish(&run, &database_url, &written, &mut first).await;
    second.assert_running();
    drop((first, second));
    drop_database(&shared, &run.database).await;
    let _ = std::fs::remove_dir_all(&run.dir);
}

/// Starts the writer and waits (bounded) for its backlog.
async fn start_writer(run: &Run) -> Writer {
    let seed = fastrand::u64(..);
    eprintln!("{}: writer seed {seed}; logs in {:?}", run.suffix, run.dir);
    let writer = Writer::start(&run.kafka, STORES, seed);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while writer.committed() < BACKLOG {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the writer committed only {} transactions in {PATIENCE:?}",
            writer.committed()
        );
        tokio::time::sleep(POLL).await;
    }
    writer
}

/// Reads the committed log, waits until the projector has applied all of
/// it, and checks the read models against it.
async fn finish(run: &Run, database_url: &str, written: &Written, projector: &mut Projector) {
    let log: Log = {
        let kafka = run.kafka.clone();
        tokio::task::spawn_blocking(move || checker::read_log(&kafka, "read_committed"))
            .await
            .unwrap()
    };
    let started = tokio::time::Instant::now();
    wait_until_caught_up(database_url, &log.ends, projector).await;
    let errors = std::fs::read_to_string(projector.log())
        .unwrap()
        .lines()
        .filter(|l| l.contains("ERROR"))
        .count();
    eprintln!(
        "{}: {} projector starts, {errors} errors logged; caught up {:?} after the writer stopped",
        run.suffix,
        projector.starts,
        Duration::from_millis(started.elapsed().as_millis() as u64)
    );
    checker::check(
        database_url,
        &run.kafka,
        &run.dead_letter_topic,
        written,
        &log,
    )
    .await;
}
