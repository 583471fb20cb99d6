//! `ssehub-loadtest`: drives a running ssehub over loopback HTTP/SSE and judges it.
//!
//! An independent oracle: it never links the `ssehub` crate, and speaks the wire protocol of
//! API.md with its own HTTP/1.1, chunked and SSE parsers (HTTP/2 framing from the `h2`
//! crate, TLS from rustls). Every run is bounded in connections and time and stops by
//! itself; targets outside 127.0.0.0/8 are refused.
//!
//! Layout: `cli` flags · `target` loopback URLs · `source` client endpoints · `transport`/`tls`
//! TCP and TLS · `http`/`chunked`/`sse`/`stream` the wire, `mux` HTTP/2 streams on shared
//! connections · `payload`, `batch` what is published · `ledger`/`verify` the exactly-once
//! oracle · `stats`/`procfs` measurements · `density`, `fanout` (+ replay, cluster) the
//! scenarios · `report` output.

mod batch;
mod chunked;
mod cli;
mod density;
mod fanout;
mod http;
mod ledger;
mod limits;
mod mux;
mod payload;
mod procfs;
mod publisher;
mod report;
mod source;
mod sse;
mod stats;
mod stream;
mod subscriber;
mod target;
mod tls;
mod transport;
mod verify;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use cli::{Cli, Scenario};
use transport::Transport;

/// Exit code for usage errors (as sysexits' EX_USAGE, like the hub's bad-config exit).
const EXIT_USAGE: u8 = 64;

/// Fails fast, with one clear line, when a hub is not serving at all (or not over the TLS
/// and HTTP version asked for).
async fn preflight(common: &cli::Common, transport: &Arc<Transport>) -> Result<(), String> {
    for hub in &common.hubs {
        let mut client = http::Client::new(hub.clone(), transport.clone());
        let probe = client.send("GET", "/health/live", &[], b"");
        match tokio::time::timeout(std::time::Duration::from_secs(5), probe).await {
            Ok(Ok((200, _))) => {}
            Ok(Ok((status, body))) => {
                let body = String::from_utf8_lossy(&body);
                return Err(format!("{hub}/health/live answered {status}: {body}"));
            }
            Ok(Err(e @ http::HttpError::Handshake(_))) => {
                let text = e.to_string();
                let hint = if text.contains("ertificate") || text.contains("UnknownIssuer") {
                    " (is --ca-cert the hub's certificate or its CA?)"
                } else if text.contains("ApplicationProtocol") {
                    " (the hub does not speak the --http version asked for)"
                } else {
                    ""
                };
                return Err(format!("{hub} is not reachable: {text}{hint}"));
            }
            Ok(Err(e)) => return Err(format!("{hub} is not reachable: {e}")),
            Err(_) => return Err(format!("{hub}/health/live did not answer within 5 s")),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.scenario, Scenario::Cluster(_)) && cli.common.hubs.len() < 2 {
        eprintln!("cluster needs at least two --hub URLs");
        return ExitCode::from(EXIT_USAGE);
    }
    let transport = match Transport::new(&cli.common) {
        Ok(transport) => Arc::new(transport),
        Err(why) => {
            eprintln!("{why}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = runtime.block_on(async {
        if let Err(why) = preflight(&cli.common, &transport).await {
            eprintln!("{why}");
            let mut report = report::Report::new("preflight");
            report.violation(why);
            return report;
        }
        match &cli.scenario {
            Scenario::Density(args) => density::run(&cli.common, &transport, args).await,
            Scenario::Fanout(args) => {
                let args = cli::ReplayArgs {
                    fanout: args.clone(),
                    drop_percent: 0,
                    drop_at: 0.0,
                    pause_ms: 0,
                    stall: false,
                };
                fanout::run("fanout", &cli.common, &transport, &args).await
            }
            Scenario::Replay(args) => fanout::run("replay", &cli.common, &transport, args).await,
            Scenario::Cluster(args) => fanout::run("cluster", &cli.common, &transport, args).await,
        }
    });
    report.transport(&transport.summary());
    // Lingering connection tasks must not keep the process alive past its report.
    runtime.shutdown_background();
    report.print();
    if let Some(path) = &cli.common.json {
        if let Err(e) = report.write_json(path) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
