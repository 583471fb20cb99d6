//! A tiny fake hub speaking the API.md wire protocol, with one injectable fault, so the tests
//! can prove the harness notices loss, duplicates and reordering (an oracle that never fails
//! proves nothing).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// What the fake does wrong, to the first subscriber connection only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Never sends this sequence.
    Skip(u64),
    /// Sends this sequence twice.
    Duplicate(u64),
    /// Sends this sequence after the next one.
    SwapWithNext(u64),
}

struct Outbox {
    /// Encoded frames; index i holds sequence i + 1.
    frames: Vec<(u64, String)>,
    live: broadcast::Sender<(u64, String)>,
    connections: usize,
}

pub async fn start(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let outbox = Arc::new(Mutex::new(Outbox {
        frames: Vec::new(),
        live: broadcast::channel(1 << 16).0,
        connections: 0,
    }));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, outbox.clone(), fault));
        }
    });
    url
}

async fn serve(mut socket: TcpStream, outbox: Arc<Mutex<Outbox>>, fault: Fault) {
    let mut buf = Vec::new();
    loop {
        let Some(end) = read_head(&mut socket, &mut buf).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                })
                .map(|(_, v)| v.trim().to_owned())
        };
        let line = head.lines().next().unwrap_or_default().to_owned();
        if line.starts_with("GET /health/live") {
            respond(&mut socket, "ok").await;
        } else if line.starts_with("POST /api/sse/broadcast") {
            let len: usize = header("content-length").unwrap().parse().unwrap();
            while buf.len() < len {
                if socket.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
            }
            let body: serde_json::Value = serde_json::from_slice(&buf[..len]).unwrap();
            buf.drain(..len);
            let seq = publish(&outbox, &body);
            respond(
                &mut socket,
                &format!(r#"{{"sequence":{seq},"messageId":"m{seq}"}}"#),
            )
            .await;
        } else if line.starts_with("GET /api/sse/connect") {
            let after = header("last-event-id").and_then(|v| v.parse().ok());
            return stream(socket, &outbox, after, fault).await;
        } else {
            return;
        }
    }
}

fn publish(outbox: &Mutex<Outbox>, body: &serde_json::Value) -> u64 {
    let mut o = outbox.lock().unwrap();
    let seq = o.frames.len() as u64 + 1;
    let kind = body["eventType"].as_str().unwrap_or("message");
    let data = format!(
        r#"{{"_sequence":{seq},"messageId":"m{seq}","timestamp":"2026-01-01T00:00:00Z","version":"1.0","type":"{kind}","data":{}}}"#,
        body["data"]
    );
    let frame = format!("id: {seq}\nevent: {kind}\ndata: {data}\n\n");
    o.frames.push((seq, frame.clone()));
    let _ = o.live.send((seq, frame));
    seq
}

async fn stream(mut socket: TcpStream, outbox: &Mutex<Outbox>, after: Option<u64>, fault: Fault) {
    let (head, backlog, mut live, first) = {
        let mut o = outbox.lock().unwrap();
        o.connections += 1;
        let head = o.frames.len() as u64;
        let from = after.unwrap_or(head) as usize;
        (
            head,
            o.frames[from.min(o.frames.len())..].to_vec(),
            o.live.subscribe(),
            o.connections == 1,
        )
    };
    let fault = if first { fault } else { Fault::None };
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let connected = format!(
        "retry: 1000\n\nevent: connected\ndata: {{\"clientId\":\"c\",\"node\":\"fake\",\"resumeFrom\":{},\"headSequence\":{head}}}\n\n",
        after.unwrap_or(head)
    );
    chunk(&mut out, &connected);
    if socket.write_all(out.as_bytes()).await.is_err() {
        return;
    }
    let mut held: Option<String> = None;
    let mut send = |seq: u64, frame: String, out: &mut String| match fault {
        Fault::Skip(s) if s == seq => {}
        Fault::Duplicate(s) if s == seq => {
            chunk(out, &frame);
            chunk(out, &frame);
        }
        Fault::SwapWithNext(s) if s == seq => held = Some(frame),
        _ => {
            chunk(out, &frame);
            if let Some(h) = held.take() {
                chunk(out, &h);
            }
        }
    };
    let mut out = String::new();
    for (seq, frame) in backlog {
        send(seq, frame, &mut out);
    }
    loop {
        if !out.is_empty() && socket.write_all(out.as_bytes()).await.is_err() {
            return;
        }
        out.clear();
        match live.recv().await {
            Ok((seq, frame)) => send(seq, frame, &mut out),
            Err(_) => return,
        }
    }
}

fn chunk(out: &mut String, data: &str) {
    out.push_str(&format!("{:x}\r\n{data}\r\n", data.len()));
}

async fn respond(socket: &mut TcpStream, body: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
}

async fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        if socket.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}
