//! A Postgres cluster of the test's own, in a temporary folder on a free port,
//! so that it can be stopped in the middle of the run without touching the
//! server other tests use. `initdb` refuses to run as root: as root (here and
//! in CI) the cluster belongs to the `postgres` user, as in `stack/stack.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::harness::{PATIENCE, free_port};

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl Cluster {
    /// Creates and starts a cluster (blocking: run it off the runtime).
    pub fn start(dir: &Path) -> Cluster {
        let bin = PathBuf::from(
            std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
        );
        assert!(
            bin.join("initdb").is_file(),
            "no initdb in {bin:?}: install postgresql-15 or set PG_BIN"
        );
        let dir = dir.join("postgres");
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let owned = Command::new("chown")
                .arg("postgres:")
                .arg(&dir)
                .status()
                .unwrap();
            assert!(owned.success(), "cannot give {dir:?} to the postgres user");
        }
        let cluster = Cluster {
            dir,
            bin,
            port: free_port(),
        };
        let data = cluster.data();
        let out = cluster
            .pg("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.start_again();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command of the Postgres binaries, as the cluster's owner.
    fn pg(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server and waits until it accepts connections. Right after
    /// an immediate stop the old server's memory may linger a moment, and
    /// the new one exits at once: then it tries again (bounded).
    pub fn start_again(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.display()
            );
            let status = self
                .pg("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("postgres.log"))
                .args(["-s", "-w", "-t", "60", "-o", &options, "start"])
                .status()
                .unwrap();
            if status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test's Postgres did not start; see {:?}",
                self.dir.join("postgres.log")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server the way a crash would: no checkpoint, every
    /// connection cut, recovery from the WAL at the next start.
    pub fn stop_immediately(&self) {
        let status = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-s", "-m", "immediate", "stop"])
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl stop failed");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-s", "-m", "immediate", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
