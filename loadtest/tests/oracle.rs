//! The harness against a fake hub: clean runs pass, and each injected fault fails the run
//! with the subscriber and sequence named.

mod support;

use std::process::Output;

use support::Fault;

async fn harness(fault: Fault, scenario: &[&str]) -> Output {
    let url = support::start(fault).await;
    let mut args = vec!["--hub", &url];
    args.extend_from_slice(scenario);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ssehub-loadtest"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

const FANOUT: &[&str] = &[
    "fanout",
    "--subscribers",
    "3",
    "--publishers",
    "1",
    "--rate",
    "50",
    "--duration-secs",
    "1",
    "--drain-secs",
    "2",
];

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn clean_fanout_passes() {
    let out = harness(Fault::None, FANOUT).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("PASS: fanout"));
}

#[tokio::test]
async fn clean_replay_passes() {
    let mut args = vec!["replay"];
    args.extend_from_slice(&FANOUT[1..]);
    args.extend_from_slice(&["--drop-percent", "100", "--pause-ms", "200"]);
    let out = harness(Fault::None, &args).await;
    assert!(out.status.success(), "{}", stdout(&out));
}

#[tokio::test]
async fn a_lost_event_is_named() {
    let out = harness(Fault::Skip(5), FANOUT).await;
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("missing 1 of"), "{text}");
    assert!(text.contains("first [5]"), "{text}");
}

#[tokio::test]
async fn a_duplicate_is_named() {
    let out = harness(Fault::Duplicate(7), FANOUT).await;
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("duplicate sequence 7"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn reordering_is_named() {
    let out = harness(Fault::SwapWithNext(4), FANOUT).await;
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("sequence 4 arrived after 5"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn density_counts_the_final_broadcast() {
    let args = ["density", "--connections", "50", "--hold-secs", "0"];
    let out = harness(Fault::None, &args).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("exactly once on 50 of 50"),
        "{}",
        stdout(&out)
    );
}
