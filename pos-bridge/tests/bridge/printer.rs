//! A test kitchen printer: listens on a TCP port like a printer's port 9100,
//! reads each connection's ESC/POS byte stream, parses it into commands and
//! text, and hands each ticket to the test by structure.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pos_bridge::escpos::{Command, decode};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::PATIENCE;

/// One printed ticket, by structure.
#[derive(Debug, Clone)]
pub struct Printed {
    pub commands: Vec<Command>,
    /// The white-on-black lines before the number: REPRINT, CANCELLED.
    pub banners: Vec<String>,
    /// The large line: `#` and the order number.
    pub number: String,
    /// The tall line after the number.
    pub pickup: Option<String>,
    pub lines: Vec<PrintedLine>,
    pub reason: Option<String>,
    /// Initialised first, cut last.
    pub initialised: bool,
    pub cut: bool,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedLine {
    pub quantity: u32,
    pub name: String,
    pub modifiers: Vec<String>,
    pub notes: Vec<String>,
}

/// Reads a ticket's structure out of the printer commands.
pub fn parse(commands: Vec<Command>) -> Printed {
    let (mut reverse, mut large, mut tall) = (false, false, false);
    let mut printed = Printed {
        initialised: commands.first() == Some(&Command::Initialize),
        cut: commands.last() == Some(&Command::Cut),
        commands: Vec::new(),
        banners: Vec::new(),
        number: String::new(),
        pickup: None,
        lines: Vec::new(),
        reason: None,
        received_at: Utc::now(),
    };
    for command in &commands {
        match command {
            Command::Reverse(on) => reverse = *on,
            Command::Size { width, height } => {
                large = *width > 1 && *height > 1;
                tall = *width == 1 && *height > 1;
            }
            Command::Initialize => (reverse, large, tall) = (false, false, false),
            Command::Line(text) if reverse => printed.banners.push(text.trim().to_owned()),
            Command::Line(text) if large => printed.number = text.clone(),
            Command::Line(text) if tall => printed.pickup = Some(text.clone()),
            Command::Line(text) => {
                if let Some(modifier) = text.strip_prefix("       + ") {
                    printed
                        .lines
                        .last_mut()
                        .unwrap()
                        .modifiers
                        .push(modifier.to_owned());
                } else if let Some(note) = text.strip_prefix("       * ") {
                    printed
                        .lines
                        .last_mut()
                        .unwrap()
                        .notes
                        .push(note.to_owned());
                } else if let Some(reason) = text.strip_prefix("reason: ") {
                    printed.reason = Some(reason.to_owned());
                } else if let Some((quantity, name)) = text.trim_start().split_once(" x ")
                    && let Ok(quantity) = quantity.parse()
                {
                    printed.lines.push(PrintedLine {
                        quantity,
                        name: name.to_owned(),
                        modifiers: Vec::new(),
                        notes: Vec::new(),
                    });
                }
            }
            _ => {}
        }
    }
    printed.commands = commands;
    printed
}

pub struct TestPrinter {
    pub addr: SocketAddr,
    tickets: mpsc::UnboundedReceiver<Printed>,
}

impl TestPrinter {
    pub async fn start() -> TestPrinter {
        TestPrinter::on(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    pub fn on(listener: TcpListener) -> TestPrinter {
        let addr = listener.local_addr().unwrap();
        let (tx, tickets) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut bytes = Vec::new();
                    if socket.read_to_end(&mut bytes).await.is_ok() && !bytes.is_empty() {
                        let _ = tx.send(parse(decode(&bytes)));
                    }
                });
            }
        });
        TestPrinter { addr, tickets }
    }

    /// The next ticket, failing after `PATIENCE`.
    pub async fn next(&mut self) -> Printed {
        self.next_within(PATIENCE)
            .await
            .expect("no ticket was printed in time")
    }

    pub async fn next_within(&mut self, wait: Duration) -> Option<Printed> {
        tokio::time::timeout(wait, self.tickets.recv())
            .await
            .ok()
            .flatten()
    }

    /// A ticket received already, if any, without waiting.
    pub fn try_next(&mut self) -> Option<Printed> {
        self.tickets.try_recv().ok()
    }
}
