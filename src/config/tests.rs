use super::*;

fn parse(args: &[&str]) -> Result<Config, clap::Error> {
    let mut all = vec!["ssehub"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).map(|cli| cli.config)
}

#[test]
fn defaults_are_an_open_loopback_embedded_hub() {
    let config = Config::defaults();
    assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(config.store_kind(), StoreKind::Embedded);
    assert_eq!(config.heartbeat, Duration::from_secs(15));
    assert_eq!(config.write_concern, WriteAcknowledgment::Majority);
    assert!(config.is_open());
    config.validate().unwrap();
}

#[test]
fn open_mode_is_refused_off_loopback() {
    let config = parse(&["--listen", "0.0.0.0:8080"]).unwrap();
    assert!(matches!(
        config.validate(),
        Err(ConfigError::OpenOnNetwork(_))
    ));
    let keyed = parse(&["--listen", "0.0.0.0:8080", "--publish-keys", "a,b"]).unwrap();
    assert_eq!(keyed.publish_keys, vec!["a", "b"]);
    keyed.validate().unwrap();
}

#[test]
fn listen_takes_a_host_name() {
    let config = parse(&["--listen", "localhost:9090"]).unwrap();
    assert!(config.listen.ip().is_loopback(), "{}", config.listen);
    assert_eq!(config.listen.port(), 9090);
    assert!(parse(&["--listen", "localhost"]).is_err());
}

#[test]
fn store_settings_must_agree() {
    let config = parse(&["--mongodb-uri", "mongodb://127.0.0.1:1/"]).unwrap();
    assert_eq!(config.store_kind(), StoreKind::Mongodb);
    config.validate().unwrap();
    let forced = parse(&["--store", "mongodb"]).unwrap();
    assert!(matches!(
        forced.validate(),
        Err(ConfigError::MongoWithoutUri)
    ));
    let both = parse(&["--store", "embedded", "--mongodb-uri", "mongodb://x/"]).unwrap();
    assert!(matches!(
        both.validate(),
        Err(ConfigError::StoreConflict("embedded"))
    ));
}

#[test]
fn out_of_range_values_are_refused_at_parse_time_naming_the_flag() {
    let error = parse(&["--heartbeat-secs", "0"]).unwrap_err().to_string();
    assert!(error.contains("--heartbeat-secs"), "{error}");
    assert!(error.contains("1..=3600"), "{error}");
    assert!(parse(&["--publish-keys", "a,,b"]).is_err());
    assert!(parse(&["--write-concern", "most"]).is_err());
    assert!(parse(&["--token-secret", "short"]).is_err());
    assert!(parse(&["--max-header-bytes", "100"]).is_err());
    assert!(parse(&["--static-dir", "/no/such/dir"]).is_err());
    assert_eq!(
        parse(&["--write-concern", "2"]).unwrap().write_concern,
        WriteAcknowledgment::Nodes(2)
    );
}

#[test]
fn components_get_typed_settings() {
    let config = parse(&[
        "--max-stream-lifetime-secs",
        "0",
        "--retention-max-age-secs",
        "60",
        "--gap-timeout-ms",
        "250",
    ])
    .unwrap();
    let node = config.node();
    assert_eq!(node.max_stream_lifetime, None);
    assert_eq!(node.retention.max_age, Some(Duration::from_secs(60)));
    assert_eq!(node.dispatch.gap_timeout, Duration::from_millis(250));
    let lifetime = parse(&["--max-stream-lifetime-secs", "30"]).unwrap().node();
    assert_eq!(lifetime.max_stream_lifetime, Some(Duration::from_secs(30)));
}

#[test]
fn tls_needs_both_files_and_open_mode_stays_on_loopback() {
    let cert_only = parse(&["--tls-cert", "c.pem"]).unwrap();
    assert!(matches!(
        cert_only.validate(),
        Err(ConfigError::TlsHalfConfigured("--tls-cert", "--tls-key"))
    ));
    let key_only = parse(&["--tls-key", "k.pem"]).unwrap();
    assert!(matches!(
        key_only.validate(),
        Err(ConfigError::TlsHalfConfigured("--tls-key", "--tls-cert"))
    ));
    let both = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
    both.validate().unwrap();
    let tls = both.tls().unwrap();
    assert_eq!(tls.handshake_timeout, Duration::from_secs(10));
    let open_on_network = parse(&[
        "--listen",
        "0.0.0.0:8443",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
    ])
    .unwrap();
    assert!(matches!(
        open_on_network.validate(),
        Err(ConfigError::OpenOnNetwork(_))
    ));
    assert_eq!(Config::defaults().h2_max_concurrent_streams, 256);
    assert!(parse(&["--h2-max-concurrent-streams", "0"]).is_err());
}
