//! ESC/POS, the command language of receipt printers: a small encoder for the
//! commands a kitchen ticket needs, and a decoder of the same byte stream back
//! into commands (for the `print-sink` stand-in and for tests).
//!
//! Only the commands we send are modelled; the decoder reports any other byte
//! sequence as `Unknown`, never panics, and never loops on garbage.
//!
//! No crate was a fit: the `escpos` crate drives printers through blocking
//! drivers of its own, while the bridge needs the bytes (to send with tokio
//! under timeouts) and a decoder, which no crate offers.

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const LF: u8 = 0x0a;

/// Horizontal alignment (`ESC a n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One printer command, or a line of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ESC @`: reset the printer's modes.
    Initialize,
    /// `ESC a n`.
    Align(Align),
    /// `GS ! n`: character width and height multipliers, 1-8 each.
    Size { width: u8, height: u8 },
    /// `ESC E n`: emphasised (bold) on or off.
    Bold(bool),
    /// `GS B n`: white on black on or off.
    Reverse(bool),
    /// Text up to and including a line feed (`LF`), without it.
    Line(String),
    /// `ESC d n`: print and feed `n` lines.
    Feed(u8),
    /// `GS V 66 n`: feed `n` dots and cut the paper partially.
    Cut,
    /// A byte or sequence the decoder does not model.
    Unknown(Vec<u8>),
}

/// Builds an ESC/POS byte stream.
#[derive(Debug, Default)]
pub struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Encoder::default()
    }

    pub fn initialize(&mut self) -> &mut Self {
        self.bytes.extend_from_slice(&[ESC, b'@']);
        self
    }

    pub fn align(&mut self, align: Align) -> &mut Self {
        let n = match align {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        };
        self.bytes.extend_from_slice(&[ESC, b'a', n]);
        self
    }

    /// Width and height multipliers, each clamped to 1-8.
    pub fn size(&mut self, width: u8, height: u8) -> &mut Self {
        let w = width.clamp(1, 8) - 1;
        let h = height.clamp(1, 8) - 1;
        self.bytes.extend_from_slice(&[GS, b'!', (w << 4) | h]);
        self
    }

    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.bytes.extend_from_slice(&[ESC, b'E', u8::from(on)]);
        self
    }

    pub fn reverse(&mut self, on: bool) -> &mut Self {
        self.bytes.extend_from_slice(&[GS, b'B', u8::from(on)]);
        self
    }

    /// A line of text. Printers read bytes in their code page (ASCII in its
    /// lower half); other characters print as `?` and control characters are
    /// dropped, so text can never smuggle in a command.
    pub fn line(&mut self, text: &str) -> &mut Self {
        for c in text.chars() {
            match c {
                ' '..='~' => self.bytes.push(c as u8),
                c if c.is_control() => {}
                _ => self.bytes.push(b'?'),
            }
        }
        self.bytes.push(LF);
        self
    }

    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.bytes.extend_from_slice(&[ESC, b'd', lines]);
        self
    }

    /// Feeds past the cutter and cuts, leaving a tab (`GS V 66 0`).
    pub fn cut(&mut self) -> &mut Self {
        self.bytes.extend_from_slice(&[GS, b'V', 66, 0]);
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads a byte stream into commands. Text not ended by a line feed at the end
/// of the stream becomes a last `Line`.
pub fn decode(bytes: &[u8]) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut text = Vec::new();
    let mut i = 0;
    let flush = |text: &mut Vec<u8>, commands: &mut Vec<Command>| {
        if !text.is_empty() {
            commands.push(Command::Line(String::from_utf8_lossy(text).into_owned()));
            text.clear();
        }
    };
    while i < bytes.len() {
        let rest = &bytes[i..];
        let (command, used) = match rest {
            [LF, ..] => {
                commands.push(Command::Line(String::from_utf8_lossy(&text).into_owned()));
                text.clear();
                i += 1;
                continue;
            }
            [ESC, b'@', ..] => (Command::Initialize, 2),
            [ESC, b'a', n, ..] => (
                Command::Align(match n {
                    0 | b'0' => Align::Left,
                    1 | b'1' => Align::Center,
                    _ => Align::Right,
                }),
                3,
            ),
            [ESC, b'E', n, ..] => (Command::Bold(n & 1 == 1), 3),
            [ESC, b'd', n, ..] => (Command::Feed(*n), 3),
            [GS, b'!', n, ..] => (
                Command::Size {
                    width: (n >> 4) + 1,
                    height: (n & 0x0f) + 1,
                },
                3,
            ),
            [GS, b'B', n, ..] => (Command::Reverse(n & 1 == 1), 3),
            [GS, b'V', 65 | 66, _, ..] => (Command::Cut, 4),
            [GS, b'V', 0 | 1 | 48 | 49, ..] => (Command::Cut, 3),
            [ESC | GS, ..] => (
                Command::Unknown(rest[..rest.len().min(2)].to_vec()),
                rest.len().min(2),
            ),
            [b, ..] if *b < 0x20 => (Command::Unknown(vec![*b]), 1),
            [b, ..] => {
                text.push(*b);
                i += 1;
                continue;
            }
            [] => break,
        };
        flush(&mut text, &mut commands);
        commands.push(command);
        i += used;
    }
    flush(&mut text, &mut commands);
    commands
}

/// The commands as readable text: one printed line per line, with the large,
/// bold and reversed lines marked, and a rule where the paper is cut.
pub fn to_text(commands: &[Command]) -> String {
    let (mut big, mut bold, mut reverse) = (false, false, false);
    let mut out = String::new();
    for command in commands {
        match command {
            Command::Size { width, height } => big = *width > 1 || *height > 1,
            Command::Bold(on) => bold = *on,
            Command::Reverse(on) => reverse = *on,
            Command::Line(text) => {
                let mark = match (reverse, big, bold) {
                    (true, _, _) => "[reverse] ",
                    (_, true, _) => "[large] ",
                    (_, _, true) => "[bold] ",
                    _ => "",
                };
                out.push_str(mark);
                out.push_str(text);
                out.push('\n');
            }
            Command::Feed(n) => {
                for _ in 0..*n {
                    out.push('\n');
                }
            }
            Command::Cut => out.push_str("---------------- cut ----------------\n"),
            Command::Initialize => {
                (big, bold, reverse) = (false, false, false);
            }
            Command::Align(_) | Command::Unknown(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_each_command_as_the_manual_gives_it() {
        let mut e = Encoder::new();
        e.initialize()
            .align(Align::Center)
            .size(2, 2)
            .bold(true)
            .reverse(true)
            .line("Hi")
            .feed(3)
            .cut();
        assert_eq!(
            e.into_bytes(),
            [
                0x1b, 0x40, 0x1b, 0x61, 1, 0x1d, 0x21, 0x11, 0x1b, 0x45, 1, 0x1d, 0x42, 1, b'H',
                b'i', 0x0a, 0x1b, 0x64, 3, 0x1d, 0x56, 66, 0
            ]
        );
    }

    #[test]
    fn text_cannot_carry_commands_and_non_ascii_prints_as_a_question_mark() {
        let mut e = Encoder::new();
        e.line("a\x1b@b\ncrème");
        assert_eq!(e.into_bytes(), b"a@bcr?me\n");
    }

    #[test]
    fn decodes_what_it_encodes() {
        let mut e = Encoder::new();
        e.initialize()
            .align(Align::Left)
            .size(1, 2)
            .line("PICKUP")
            .bold(false)
            .reverse(false)
            .feed(1)
            .cut();
        assert_eq!(
            decode(&e.into_bytes()),
            [
                Command::Initialize,
                Command::Align(Align::Left),
                Command::Size {
                    width: 1,
                    height: 2
                },
                Command::Line("PICKUP".into()),
                Command::Bold(false),
                Command::Reverse(false),
                Command::Feed(1),
                Command::Cut,
            ]
        );
    }

    #[test]
    fn garbage_decodes_without_panicking() {
        for bytes in [
            &[0x1b][..],
            &[0x1d, b'V'],
            &[0x1b, 0x1b, 0x1b],
            &[0, 1, 2, 0xff],
        ] {
            let commands = decode(bytes);
            assert!(!commands.is_empty());
        }
        assert_eq!(decode(b"tail"), [Command::Line("tail".into())]);
    }
}
