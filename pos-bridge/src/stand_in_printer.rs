//! A stand-in for a kitchen printer, for development (`pos-bridge print-sink`;
//! the real sinks the bridge delivers to are in `sinks.rs`): accepts raw TCP
//! connections on the printer port, decodes the ESC/POS each one sends, and
//! writes it to `out` as readable text (or the raw bytes, if asked).

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

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use tokio::io::AsyncWriteExt;

    use super::*;
    use crate::escpos::{Align, Encoder};

    /// Hands each write to the test.
    struct Channel(mpsc::Sender<Vec<u8>>);

    impl Write for Channel {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn shows_a_received_ticket_as_readable_text() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        let stop = tokio_util::sync::CancellationToken::new();
        let sink = tokio::spawn(print_sink(
            listener,
            false,
            Channel(tx),
            stop.clone().cancelled_owned(),
        ));
        let mut e = Encoder::new();
        e.initialize()
            .align(Align::Center)
            .size(2, 2)
            .line("#1D9E01")
            .size(1, 1)
            .line(" 2 x Classic Burger")
            .feed(1)
            .cut();
        let mut printer = tokio::net::TcpStream::connect(addr).await.unwrap();
        printer.write_all(&e.into_bytes()).await.unwrap();
        printer.shutdown().await.unwrap();
        let text = tokio::task::spawn_blocking(move || rx.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "[large] #1D9E01\n 2 x Classic Burger\n\n---------------- cut ----------------\n"
        );
        stop.cancel();
        sink.await.unwrap().unwrap();
    }
}
