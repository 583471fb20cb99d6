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

/// One event as the publish endpoints take it, carrying its publish time (unix nanoseconds):
/// the body of a broadcast, or one element of a batch's `events`.
pub fn publish_body(
    event_type: &str,
    unix_nanos: u64,
    origin: Origin,
    message_id: Option<&str>,
) -> String {
    let id = message_id.map_or(String::new(), |id| format!(r#","messageId":"{id}""#));
    format!(
        r#"{{"eventType":"{event_type}","data":{{"t":{unix_nanos},"p":{},"n":{}}}{id}}}"#,
        origin.publisher(),
        origin.n()
    )
}

/// Client-chosen message ids (`--message-id`): a UUID (version 4 layout) derived from the run
/// and the event's origin, so a subscriber can tell which id each delivered event must carry
/// without any table, and no two runs against one hub reuse an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageIds {
    run: u64,
}

impl MessageIds {
    pub fn new(run: u64) -> Self {
        Self { run }
    }

    pub fn of(self, origin: Origin) -> String {
        let hi = splitmix(self.run ^ origin.0.rotate_left(17));
        let lo = splitmix(hi ^ origin.0);
        // Version 4 in the top nibble of the third group, variant 10xx in the fourth.
        let hi = (hi & !0xf000) | 0x4000;
        let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `messageId` string of an event's data, without parsing the rest.
pub fn scan_message_id(data: &str) -> Option<&str> {
    const KEY: &str = "\"messageId\":\"";
    let rest = &data[data.find(KEY)? + KEY.len()..];
    Some(&rest[..rest.find('"')?])
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

/// The publish acknowledgement `{"sequence": N, "messageId": "..."}` (a batch answers one
/// per event).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    pub sequence: u64,
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
        let body = publish_body("load", 123, Origin::new(7, 9), None);
        assert_eq!(body, r#"{"eventType":"load","data":{"t":123,"p":7,"n":9}}"#);
        let body = publish_body("load", 1, Origin::new(0, 2), Some("id-1"));
        assert_eq!(
            body,
            r#"{"eventType":"load","data":{"t":1,"p":0,"n":2},"messageId":"id-1"}"#
        );
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
    fn message_ids_are_uuids_unique_per_origin_and_run() {
        let ids = MessageIds::new(42);
        let id = ids.of(Origin::new(1, 2));
        assert_eq!(id, ids.of(Origin::new(1, 2)));
        assert_eq!(id.len(), 36);
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'), "{id}");
        assert!(matches!(&groups[3][..1], "8" | "9" | "a" | "b"), "{id}");
        assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
        let mut all: Vec<String> = (0..1000).map(|n| ids.of(Origin::new(n % 7, n))).collect();
        all.push(MessageIds::new(43).of(Origin::new(1, 2)));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 1001);
    }

    #[test]
    fn finds_the_message_id() {
        let data = r#"{"_sequence":1,"messageId":"abc-1","type":"load"}"#;
        assert_eq!(scan_message_id(data), Some("abc-1"));
        assert_eq!(scan_message_id(r#"{"_sequence":1}"#), None);
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
