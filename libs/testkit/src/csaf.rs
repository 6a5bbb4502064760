//! The BSI's CSAF validator, a checker nobody here wrote: `@secvisogram/csaf-validator-lib` (pinned in
//! `tests/csaf-validator/`) run by Node over documents the suite exports (N12) — the strict schema test, every
//! mandatory test and every recommended test. `scripts/prepare.sh` installs Node's package (`npm ci`). In CI (`CI`
//! set) a test that needs it fails when Node or the package is missing; elsewhere it is skipped with the reason
//! printed.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde_json::Value;

const NODE: &str = "node";

/// `tests/csaf-validator/` of this checkout.
fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/csaf-validator")
}

/// Whether Node runs and the validator package is installed; why not, when it is not.
pub fn available() -> Result<(), String> {
    let out = Command::new(NODE)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{NODE} cannot be run: {e}"))?;
    if !out.status.success() {
        return Err(format!("{NODE} --version failed"));
    }
    let lib = package_dir().join("node_modules/@secvisogram/csaf-validator-lib/package.json");
    if !lib.exists() {
        return Err(format!(
            "@secvisogram/csaf-validator-lib is not installed ({} is missing)",
            lib.display()
        ));
    }
    Ok(())
}

/// The validator for a test that needs it. Missing: in CI the test fails; elsewhere `None`, with the reason
/// printed, and the test returns early.
pub fn required(test: &str) -> Option<BsiValidator> {
    match available() {
        Ok(()) => Some(BsiValidator {
            script: package_dir().join("validate.mjs"),
        }),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: {why}; run scripts/prepare.sh")
        }
        Err(why) => {
            eprintln!(
                "{test}: skipped: {why} (scripts/prepare.sh runs npm ci --prefix tests/csaf-validator)"
            );
            None
        }
    }
}

/// What the validator said of one document.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The name the document was given.
    pub name: String,
    /// The tests it failed (`mandatoryTest_6_1_27_5`, `optionalTest_6_2_3`, …): a schema or mandatory test with
    /// an error, a recommended test with an error or a warning.
    pub failures: Vec<String>,
    /// Every test with what it said (`validate.mjs`'s report of this document).
    pub report: Value,
}

impl Verdict {
    /// The document's failures with what each test said, for an assertion message.
    pub fn explain(&self) -> String {
        let tests = self.report["tests"].as_array().cloned().unwrap_or_default();
        let said: Vec<String> = tests
            .iter()
            .filter(|t| t["passed"] == false)
            .map(|t| format!("{}: {} {}", t["name"], t["errors"], t["warnings"]))
            .collect();
        format!("{}: {}", self.name, said.join("; "))
    }
}

/// Node with the BSI validator package.
#[derive(Debug, Clone)]
pub struct BsiValidator {
    script: PathBuf,
}

impl BsiValidator {
    /// Runs the schema, mandatory and recommended tests on each `(name, document)`: one verdict per document, in
    /// order. Panics when the validator itself cannot run or answers something unreadable.
    pub fn validate(&self, documents: &[(&str, &Value)]) -> Vec<Verdict> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut files = Vec::new();
        for (i, (_, document)) in documents.iter().enumerate() {
            let path = dir.path().join(format!("{i}.json"));
            let text = serde_json::to_vec_pretty(document).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files.push(path);
        }
        let out = Command::new(NODE)
            .arg(&self.script)
            .args(&files)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {NODE} {}: {e}", self.script.display()));
        // 0: every test passed; 1: some failed (the report says which); anything else: it could not run.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{NODE} {} failed ({}):\n{}",
            self.script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "validate.mjs printed no report ({e}):\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let reported = report["files"].as_array().cloned().unwrap_or_default();
        assert_eq!(reported.len(), documents.len(), "{report}");
        documents
            .iter()
            .zip(reported)
            .map(|((name, _), file)| Verdict {
                name: name.to_string(),
                failures: file["failures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                report: file,
            })
            .collect()
    }
}
