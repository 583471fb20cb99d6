//! The outcome of a scenario: a verdict, the violations that decide it, the measurements,
//! printed for people and written as JSON for artifacts and CI.

use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

/// Violations printed verbatim (all are counted and all go to the JSON file).
const PRINT_VIOLATIONS: usize = 40;
/// Warnings printed verbatim (all go to the JSON file).
const PRINT_WARNINGS: usize = 10;

#[derive(Debug)]
pub struct Report {
    pub scenario: &'static str,
    /// Loss, duplicate, order or protocol failures: any one fails the run.
    pub violations: Vec<String>,
    /// Worth knowing, not a failure (e.g. resumed after a hub-initiated disconnect).
    pub warnings: Vec<String>,
    /// Measurements, scenario-specific.
    pub metrics: Value,
    /// Human-readable summary lines.
    pub summary: Vec<String>,
}

impl Report {
    pub fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            violations: Vec::new(),
            warnings: Vec::new(),
            metrics: Value::Null,
            summary: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn line(&mut self, text: impl Into<String>) {
        self.summary.push(text.into());
    }

    pub fn violation(&mut self, text: impl Into<String>) {
        self.violations.push(text.into());
    }

    pub fn warning(&mut self, text: impl Into<String>) {
        self.warnings.push(text.into());
    }

    pub fn set_metrics(&mut self, metrics: &impl Serialize) {
        self.metrics = serde_json::to_value(metrics).unwrap_or(Value::Null);
    }

    /// States how the hub was spoken to (TLS, verification, negotiated protocols): first
    /// in the summary, as `metrics.transport` in the JSON, and as a warning when the hub's
    /// certificate was not verified.
    pub fn transport(&mut self, summary: &crate::transport::Summary) {
        self.summary.insert(0, summary.line());
        if summary.insecure {
            self.warning(
                "TLS certificate verification was DISABLED (--insecure): the hub's identity was not checked",
            );
        }
        let value = serde_json::to_value(summary).unwrap_or(Value::Null);
        match &mut self.metrics {
            Value::Object(map) => {
                map.insert("transport".to_owned(), value);
            }
            other => *other = json!({ "transport": value }),
        }
    }

    pub fn print(&self) {
        println!("== {} ==", self.scenario);
        for line in &self.summary {
            println!("  {line}");
        }
        for w in self.warnings.iter().take(PRINT_WARNINGS) {
            println!("  warning: {w}");
        }
        if self.warnings.len() > PRINT_WARNINGS {
            println!(
                "  ... and {} more warnings (see the JSON report)",
                self.warnings.len() - PRINT_WARNINGS
            );
        }
        for v in self.violations.iter().take(PRINT_VIOLATIONS) {
            println!("  VIOLATION: {v}");
        }
        if self.violations.len() > PRINT_VIOLATIONS {
            println!(
                "  ... and {} more violations (see the JSON report)",
                self.violations.len() - PRINT_VIOLATIONS
            );
        }
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        println!(
            "{verdict}: {} ({} violations)",
            self.scenario,
            self.violations.len()
        );
    }

    /// # Errors
    /// The file cannot be written.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let doc = json!({
            "scenario": self.scenario,
            "passed": self.passed(),
            "violationCount": self.violations.len(),
            "violations": self.violations,
            "warnings": self.warnings,
            "metrics": self.metrics,
            "summary": self.summary,
        });
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(&doc)?)
    }
}
