//! The documents that describe the code must agree with it: README's configuration table
//! with `ssehub --help`, docs/API.md's error table and metric labels with the code's
//! vocabularies, the module map of `src/lib.rs` with `src/`, and the dependency rules with
//! every `use crate::` in `src/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use ssehub::config::Cli;
use ssehub::metrics::{CloseReason, Limit, Replay};
use ssehub::node::ErrorCode;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The rows of the first Markdown table after `heading`, as cells (backticks kept).
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    text[start..]
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The first `` `code` `` span of a cell.
fn code(cell: &str) -> Option<&str> {
    let rest = cell.split_once('`')?.1;
    Some(rest.split_once('`')?.0)
}

#[test]
fn readme_configuration_table_is_ssehub_help() {
    let readme = read("README.md");
    let rows = table_after(&readme, "## Configuration");
    let mut documented = BTreeMap::new();
    for row in &rows {
        let flag = code(&row[0]).map(|f| f.trim_start_matches("--").to_owned());
        let env = code(&row[1]).map(str::to_owned);
        documented.insert(
            flag.clone().unwrap_or_default(),
            (env, row[2].clone(), row[0].clone()),
        );
    }
    let command = Cli::command();
    let mut flags = BTreeSet::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        flags.insert(long.to_owned());
        let (env, default, _) = documented
            .get(long)
            .unwrap_or_else(|| panic!("README's configuration table lacks --{long}"));
        let help_env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        assert_eq!(
            env, &help_env,
            "--{long}: README and --help name different env vars"
        );
        if let Some(value) = arg.get_default_values().first() {
            let value = value.to_string_lossy();
            assert!(
                default.contains(&format!("`{value}`")),
                "--{long}: README's default {default:?} is not `{value}` (--help)"
            );
        }
    }
    for flag in documented.keys().filter(|f| !f.is_empty()) {
        assert!(
            flags.contains(flag),
            "README documents --{flag}, which ssehub does not have"
        );
    }
    let log = documented.get("").expect("README documents SSEHUB_LOG");
    assert_eq!(log.0.as_deref(), Some("SSEHUB_LOG"));
    let help = command.clone().render_long_help().to_string();
    assert!(help.contains("SSEHUB_LOG"), "--help mentions SSEHUB_LOG");
}

#[test]
fn api_error_table_is_the_error_code_vocabulary() {
    let api = read("docs/API.md");
    let documented: BTreeSet<String> = table_after(&api, "## Errors")
        .iter()
        .filter_map(|row| code(&row[1]).map(str::to_owned))
        .collect();
    let codes: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        documented, codes,
        "docs/API.md's error table and ErrorCode differ"
    );
}

#[test]
fn api_metrics_list_names_every_label_value() {
    let api = read("docs/API.md");
    let metrics = &api[api.find("Metric families").expect("a metrics list")..];
    let row = |name: &str| {
        metrics
            .lines()
            .find(|line| line.starts_with(&format!("| `{name}")))
            .unwrap_or_else(|| panic!("no row for {name}"))
            .to_owned()
    };
    let reasons = row("ssehub_sse_disconnects_total");
    for reason in CloseReason::ALL {
        assert!(
            reasons.contains(&format!("`{reason}`")),
            "{reason} is not listed"
        );
    }
    let limits = row("ssehub_limit_rejections_total");
    for limit in Limit::ALL {
        assert!(
            limits.contains(&format!("`{limit}`")),
            "{limit} is not listed"
        );
    }
    let replays = row("ssehub_replays_total");
    for outcome in Replay::ALL {
        assert!(replays.contains(&format!("`{outcome}`")), "{outcome}");
    }
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The module a source file belongs to for the dependency rules: the top module, except
/// `sse`, whose parts have rules of their own.
fn module_of(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [top, part, ..] if top == "sse" && part != "mod" => format!("sse::{part}"),
        [top, ..] => top.clone(),
        [] => unreachable!(),
    }
}

/// Where a `crate::` path points, in the same terms.
fn target_of(path: &str) -> String {
    let mut segments = path.split("::");
    let top = segments.next().unwrap_or_default().to_owned();
    match (top.as_str(), segments.next()) {
        ("sse", Some(part @ ("body" | "frame" | "resume"))) => format!("sse::{part}"),
        _ => top,
    }
}

/// The module map of `src/lib.rs`: the first word of each line of its text block.
fn mapped_modules(lib: &str) -> BTreeSet<String> {
    let start = lib.find("```text").expect("a module map");
    lib[start + 7..]
        .lines()
        .take_while(|line| !line.contains("```"))
        .filter_map(|line| {
            let line = line.trim_start_matches("//!");
            (!line.starts_with("  ")).then(|| {
                line.split_whitespace()
                    .next()
                    .map(|w| w.trim_end_matches('/').to_owned())
            })?
        })
        .collect()
}

#[test]
fn the_module_map_lists_every_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = read("src/lib.rs");
    let mapped = mapped_modules(&lib);
    let actual: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_string_lossy().into_owned();
            let module = p.is_dir() || p.extension().is_some_and(|e| e == "rs");
            (module && name != "lib" && name != "main").then_some(name)
        })
        .collect();
    assert_eq!(mapped, actual, "src/lib.rs's module map and src/ differ");
    let architecture = read("docs/ARCHITECTURE.md");
    for module in &actual {
        assert!(
            architecture.contains(&format!("**`{module}`**")),
            "docs/ARCHITECTURE.md does not describe {module}"
        );
    }
}

#[test]
fn dependencies_point_inwards() {
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("event", &[][..]),
        ("metrics", &[][..]),
        ("shutdown", &[][..]),
        ("auth", &["event"][..]),
        ("outbox", &["event", "metrics"][..]),
        ("tail", &["event"][..]),
        ("sse::frame", &["event"][..]),
        ("sse::resume", &["event"][..]),
        ("sse", &[][..]),
        ("registry", &["event", "metrics"][..]),
        (
            "sse::body",
            &[
                "event",
                "metrics",
                "outbox",
                "registry",
                "tail",
                "sse::frame",
            ][..],
        ),
        (
            "dispatch",
            &[
                "event",
                "metrics",
                "outbox",
                "registry",
                "tail",
                "sse::frame",
            ][..],
        ),
        ("demo", &["event", "outbox"][..]),
        (
            "node",
            &[
                "event",
                "auth",
                "metrics",
                "shutdown",
                "outbox",
                "tail",
                "registry",
                "sse",
                "sse::frame",
                "sse::resume",
                "sse::body",
                "dispatch",
                "demo",
            ][..],
        ),
        (
            "http",
            &[
                "node",
                "auth",
                "event",
                "metrics",
                "sse::body",
                "sse::resume",
            ][..],
        ),
        ("config", &["dispatch", "http", "node", "outbox"][..]),
    ]);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for file in sources(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.ends_with("tests.rs") || relative.starts_with("lib.rs") {
            continue;
        }
        let module = module_of(relative);
        let Some(rules) = allowed.get(module.as_str()) else {
            // app and main wire everything.
            assert!(
                matches!(module.as_str(), "app" | "main"),
                "no rule for {module}"
            );
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may use anything; the rules are about the code they test.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let path: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let target = target_of(&path);
                if !allowed.contains_key(target.as_str()) && target != "app" {
                    // A macro exported at the crate root, not a module.
                    continue;
                }
                if target == module || rules.contains(&target.as_str()) {
                    continue;
                }
                violations.push(format!("{}: {module} imports {target}", relative.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the rules of src/lib.rs:\n{}",
        violations.join("\n")
    );
}
