//! What the harness publishes and how it recognises it again in a frame's `data`.
//!
//! Subscribers see hundreds of thousands of frames per second in a fan-out run on a machine
//! shared with the hub, so `data` is scanned for the few numbers needed instead of being
//! parsed into a JSON tree; the `connected` frame (once per connection) uses serde.

use serde::Deserialize;

/// Who published an event: publisher id and its running number, packed for compact ledgers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin(pub u64);

impl Origin {
    pub fn new(publisher: u32, n: u32) -> Self {
        Self((u64::from(publisher) << 32) | u64::from(n))
    }
    pub fn publisher(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub fn n(self) -> u32 {
        self.0 as u32
    }
}

/// The JSON body of a broadcast that carries its publish time (unix nanoseconds).
pub fn publish_body(event_type: &str, unix_nanos: u64, origin: Origin) -> String {
    format!(
        r#"{{"eventType":"{event_type}","data":{{"t":{unix_nanos},"p":{},"n":{}}}}}"#,
        origin.publisher(),
        origin.n()
    )
}

/// The numbers a harness event carries in its `data` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadData {
    /// `_sequence`, which must equal the frame's `id:`.
    pub sequence: u64,
    pub sent_unix_nanos: u64,
    pub origin: Origin,
}

/// Scans `{"_sequence":N,...,"data":{"t":T,"p":P,"n":N}}`; `None` if any piece is missing.
pub fn scan_load(data: &str) -> Option<LoadData> {
    let sequence = number_after(data, "\"_sequence\":")?;
    let inner = &data[data.find("\"data\":")?..];
    Some(LoadData {
        sequence,
        sent_unix_nanos: number_after(inner, "\"t\":")?,
        origin: Origin::new(
            u32::try_from(number_after(inner, "\"p\":")?).ok()?,
            u32::try_from(number_after(inner, "\"n\":")?).ok()?,
        ),
    })
}

fn number_after(text: &str, key: &str) -> Option<u64> {
    let rest = text[text.find(key)? + key.len()..].trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The `connected` frame's data: `{"clientId","node","resumeFrom","headSequence"}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub node: String,
    #[serde(default)]
    pub resume_from: Option<u64>,
    pub head_sequence: u64,
}

/// The publish acknowledgement `{"sequence": N, "messageId": "..."}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    pub sequence: u64,
    #[allow(dead_code)] // kept so a missing messageId fails the parse as API.md requires one
    pub message_id: String,
}

/// Wall clock in unix nanoseconds: publisher and subscribers share this host's clock.
pub fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_hub_shape() {
        let body = publish_body("load", 123, Origin::new(7, 9));
        assert_eq!(body, r#"{"eventType":"load","data":{"t":123,"p":7,"n":9}}"#);
        let data = r#"{"_sequence":42,"messageId":"m","timestamp":"2026-01-09T10:30:00.123Z","version":"1.0","type":"load","data":{"t":123,"p":7,"n":9}}"#;
        assert_eq!(
            scan_load(data),
            Some(LoadData {
                sequence: 42,
                sent_unix_nanos: 123,
                origin: Origin::new(7, 9)
            })
        );
        assert_eq!(scan_load(r#"{"_sequence":42,"data":"x"}"#), None);
    }

    #[test]
    fn connected_frame() {
        let c: Connected = serde_json::from_str(
            r#"{"clientId":"a","node":"n1","resumeFrom":null,"headSequence":17}"#,
        )
        .unwrap();
        assert_eq!(c.head_sequence, 17);
        assert_eq!(c.resume_from, None);
    }
}
