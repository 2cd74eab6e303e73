//! A stand-in for a kitchen printer: accepts raw TCP connections on the
//! printer port, decodes the ESC/POS each one sends, and writes it to `out` as
//! readable text (or the raw bytes, if asked).

use std::future::Future;
use std::io::Write;

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::escpos;

/// Serves until `shutdown` completes.
pub async fn print_sink(
    listener: TcpListener,
    raw: bool,
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
        if raw {
            out.write_all(&ticket).context("writing a ticket")?;
        } else {
            let text = escpos::to_text(&escpos::decode(&ticket));
            out.write_all(text.as_bytes()).context("writing a ticket")?;
        }
        out.flush().context("writing a ticket")?;
    }
}
