//! A streaming `text/event-stream` parser following the WHATWG HTML "event stream
//! interpretation" rules, written independently of the hub so it can judge the hub's output.
//!
//! Lines end with LF, CRLF or a lone CR (a CR at the end of one read may be followed by the
//! LF in the next). Complete lines are interpreted straight from the input slice; only a
//! partial line at the end of a read is copied, so an idle connection holds no buffer.

#[cfg(test)]
mod tests;

/// One thing the stream said, borrowed from the parser until the sink returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A dispatched event (a block ended by a blank line with at least one `data` field).
    Event(Event<'a>),
    /// A `retry:` field with a valid integer.
    Retry(u64),
    /// A comment line such as `: ping` (text after the colon).
    Comment(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// `event` field, or `message` when absent.
    pub event_type: &'a str,
    /// All `data` fields joined by LF.
    pub data: &'a str,
    /// Whether this block itself carried an `id` field (`connected` frames must not).
    pub has_id: bool,
    /// The last event ID buffer, which per WHATWG persists across events.
    pub last_event_id: &'a str,
}

#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of an incomplete line carried over between reads.
    partial: Vec<u8>,
    /// The previous read ended in CR: a leading LF in the next read belongs to it.
    skip_lf: bool,
    started: bool,
    data: String,
    event_type: String,
    last_event_id: String,
    has_id: bool,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds decoded body bytes; `sink` sees every item in stream order.
    pub fn feed(&mut self, mut input: &[u8], sink: &mut impl FnMut(Item<'_>)) {
        if self.skip_lf && !input.is_empty() {
            self.skip_lf = false;
            if input[0] == b'\n' {
                input = &input[1..];
            }
        }
        while let Some(end) = input.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.partial.is_empty() {
                self.line(&input[..end], sink);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&input[..end]);
                self.line(&line, sink);
                line.clear();
                self.partial = line;
            }
            let was_cr = input[end] == b'\r';
            input = &input[end + 1..];
            if was_cr {
                match input.first() {
                    Some(b'\n') => input = &input[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
        self.partial.extend_from_slice(input);
    }

    /// Releases buffer capacity kept from earlier events (idle density connections).
    pub fn shrink(&mut self) {
        self.partial.shrink_to_fit();
        self.data.shrink_to_fit();
        self.event_type.shrink_to_fit();
        self.last_event_id.shrink_to_fit();
    }

    fn line(&mut self, raw: &[u8], sink: &mut impl FnMut(Item<'_>)) {
        let text = String::from_utf8_lossy(raw);
        let mut line: &str = &text;
        if !self.started {
            self.started = true;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(sink);
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            sink(Item::Comment(comment));
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => value.clone_into(&mut self.event_type),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => {
                value.clone_into(&mut self.last_event_id);
                self.has_id = true;
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    sink(Item::Retry(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, sink: &mut impl FnMut(Item<'_>)) {
        let has_id = std::mem::take(&mut self.has_id);
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        self.data.pop(); // the LF after the last data line
        let event_type = if self.event_type.is_empty() {
            "message"
        } else {
            &self.event_type
        };
        sink(Item::Event(Event {
            event_type,
            data: &self.data,
            has_id,
            last_event_id: &self.last_event_id,
        }));
        self.data.clear();
        self.event_type.clear();
    }
}
