//! A stand-in for a kitchen printer: accepts raw TCP connections on the
//! printer port and writes what each one sends to `out`.

use std::future::Future;
use std::io::Write;

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Serves until `shutdown` completes.
pub async fn print_sink(
    listener: TcpListener,
    mut out: impl Write,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "print sink listening");
    tokio::pin!(shutdown);
    loop {
        let (mut socket, peer) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted.context("accepting a connection")?,
        };
        let mut ticket = Vec::new();
        if let Err(error) = socket.read_to_end(&mut ticket).await {
            tracing::warn!(%peer, %error, "connection broke off");
            continue;
        }
        out.write_all(&ticket).context("writing a ticket")?;
        out.flush().context("writing a ticket")?;
    }
}
