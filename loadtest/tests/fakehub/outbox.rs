//! The fake's event log: sequences, frames, client message ids, and the streams fed from it
//! (backlog after `Last-Event-ID`, then live), with the injected faults applied.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use super::body::FakeBody;
use super::{BatchFault, IdFault, Options, StreamFault};

pub struct Outbox {
    pub options: Options,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Encoded frames in sequence order (sequences may have gaps).
    frames: Vec<(u64, Bytes)>,
    next: u64,
    live: broadcast::Sender<(u64, Bytes)>,
    streams: usize,
    batches: usize,
    /// Client message id -> the sequence it was first published with.
    ids: HashMap<String, u64>,
}

impl Outbox {
    pub fn new(options: Options) -> Self {
        Self {
            options,
            inner: Mutex::new(Inner {
                frames: Vec::new(),
                next: 1,
                live: broadcast::channel(1 << 16).0,
                streams: 0,
                batches: 0,
                ids: HashMap::new(),
            }),
        }
    }

    /// A broadcast; the ack JSON.
    pub fn publish_one(&self, event: &Value) -> String {
        let (seq, id) = self.inner.lock().unwrap().publish(event, &self.options);
        format!(r#"{{"sequence":{seq},"messageId":"{id}"}}"#)
    }

    /// A batch, all under one lock so its sequences are consecutive (unless the fault
    /// says otherwise); the results JSON.
    pub fn publish_batch(&self, events: &Value) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.batches += 1;
        let gap = self.options.batch == BatchFault::Gap && inner.batches > 1;
        let mut results = Vec::new();
        for (i, event) in events.as_array().into_iter().flatten().enumerate() {
            if gap && i == 1 {
                inner.next += 1;
            }
            let (seq, id) = inner.publish(event, &self.options);
            results.push(format!(r#"{{"sequence":{seq},"messageId":"{id}"}}"#));
        }
        format!(r#"{{"results":[{}]}}"#, results.join(","))
    }

    /// A new stream after `after` (else live only), fed by a task of its own.
    pub fn subscribe(&self, after: Option<u64>) -> FakeBody {
        let (head, backlog, live, first) = {
            let mut inner = self.inner.lock().unwrap();
            inner.streams += 1;
            let head = inner.next - 1;
            let from = after.unwrap_or(head);
            let backlog: Vec<(u64, Bytes)> = inner
                .frames
                .iter()
                .filter(|(seq, _)| *seq > from)
                .cloned()
                .collect();
            (head, backlog, inner.live.subscribe(), inner.streams == 1)
        };
        let fault = if first {
            self.options.stream
        } else {
            StreamFault::None
        };
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(feed(tx, head, after, backlog, live, fault));
        FakeBody::Stream(rx)
    }
}

impl Inner {
    fn publish(&mut self, event: &Value, options: &Options) -> (u64, String) {
        let client_id = event["messageId"].as_str().map(str::to_owned);
        if let Some(id) = &client_id {
            if let (Some(&seq), IdFault::Honour) = (self.ids.get(id), options.ids) {
                return (seq, id.clone());
            }
        }
        let seq = self.next;
        self.next += 1;
        let id = client_id.unwrap_or_else(|| format!("m{seq}"));
        self.ids.entry(id.clone()).or_insert(seq);
        let kind = event["eventType"].as_str().unwrap_or("message");
        let pad = "x".repeat(options.pad);
        let data = format!(
            r#"{{"_sequence":{seq},"messageId":"{id}","timestamp":"2026-01-01T00:00:00Z","version":"1.0","type":"{kind}","pad":"{pad}","data":{}}}"#,
            event["data"]
        );
        let frame = Bytes::from(format!("id: {seq}\nevent: {kind}\ndata: {data}\n\n"));
        self.frames.push((seq, frame.clone()));
        let _ = self.live.send((seq, frame));
        (seq, id)
    }
}

async fn feed(
    tx: mpsc::Sender<Bytes>,
    head: u64,
    after: Option<u64>,
    backlog: Vec<(u64, Bytes)>,
    mut live: broadcast::Receiver<(u64, Bytes)>,
    fault: StreamFault,
) {
    let opening = format!(
        "retry: 1000\n\nevent: connected\ndata: {{\"clientId\":\"c\",\"node\":\"fake\",\"resumeFrom\":{},\"headSequence\":{head}}}\n\n",
        after.unwrap_or(head)
    );
    if tx.send(Bytes::from(opening)).await.is_err() {
        return;
    }
    let mut faulty = Faulty { fault, held: None };
    let mut out = Vec::new();
    for (seq, frame) in backlog {
        faulty.apply(seq, frame, &mut out);
    }
    loop {
        for frame in out.drain(..) {
            if tx.send(frame).await.is_err() {
                return;
            }
        }
        match live.recv().await {
            Ok((seq, frame)) => faulty.apply(seq, frame, &mut out),
            // Lagged or closed: end the stream; the harness resumes with Last-Event-ID.
            Err(_) => return,
        }
    }
}

/// Applies a stream fault to the frames in order.
struct Faulty {
    fault: StreamFault,
    held: Option<Bytes>,
}

impl Faulty {
    fn apply(&mut self, seq: u64, frame: Bytes, out: &mut Vec<Bytes>) {
        match self.fault {
            StreamFault::Duplicate(s) if s == seq => {
                out.push(frame.clone());
                out.push(frame);
            }
            StreamFault::SwapWithNext(s) if s == seq => self.held = Some(frame),
            _ => {
                out.push(frame);
                out.extend(self.held.take());
            }
        }
    }
}
