//! The `ssehub` binary: parse the configuration, bind, serve until SIGTERM/SIGINT.

use std::io::{IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ssehub::app::{App, AppError};
use ssehub::config::{Cli, Command, Config};

/// `EX_USAGE`: the configuration was refused before anything started.
const EXIT_BAD_CONFIG: u8 = 64;
/// `EX_UNAVAILABLE`: the store could not be opened or the address bound.
const EXIT_UNAVAILABLE: u8 = 69;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck(&cli.config);
    }
    init_tracing();
    let config = cli.config;
    if let Err(error) = config.validate() {
        eprintln!("ssehub: {error}");
        return ExitCode::from(EXIT_BAD_CONFIG);
    }
    // A certificate or key that cannot be served is a configuration error: refuse before binding.
    if let Some(tls) = config.tls() {
        if let Err(error) = ssehub::http::tls::check(&tls) {
            eprintln!("ssehub: TLS: {error}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ssehub: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let listener = match bind(config.listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("ssehub: cannot listen on {}: {error}", config.listen);
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    let app = match App::build(config).await {
        Ok(app) => app,
        // A TLS file changed between the check and now, or a JWT key cannot be loaded.
        Err(error @ (AppError::Tls(_) | AppError::JwtKey(_))) => {
            eprintln!("ssehub: {error}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
        Err(error) => {
            eprintln!("ssehub: {error}");
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    match app.serve(listener, ssehub::shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ssehub: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Connection attempts the kernel may queue before `accept`: a reconnect storm after a node
/// restart arrives as one burst, and the default of 128 drops SYNs that then wait 1 s to retry.
const LISTEN_BACKLOG: u32 = 4096;

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SSEHUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a person at a terminal, never into log files or collectors.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

/// `ssehub healthcheck`: GET /health/live on the configured port (over TLS when `--tls-cert`
/// is set, without verifying the certificate: see `ssehub::http::tls::probe`); exit 0 on 200.
fn healthcheck(config: &Config) -> ExitCode {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port());
    }
    let probe = || -> std::io::Result<bool> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        if config.tls_cert.is_some() {
            ask_live(ssehub::http::tls::probe::connect(stream, addr.ip())?)
        } else {
            ask_live(stream)
        }
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("ssehub healthcheck: {addr} answered, but not 200");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("ssehub healthcheck: {addr}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn ask_live(mut stream: impl Read + Write) -> std::io::Result<bool> {
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    stream.flush()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.1 200"))
}
