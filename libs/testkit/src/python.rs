//! Python with PyJWT and `cryptography`: verifiers and key readers nobody here wrote, to check that what the suite
//! signs and the key files it writes work outside it. `scripts/prepare.sh` installs the packages into the
//! `python3` on `PATH`. In CI (`CI` set) a test that needs them fails when they are missing; elsewhere it is
//! skipped with the reason printed.

use std::{
    path::Path,
    process::{Command, Stdio},
};

/// The interpreter the tests run; [`required`] checks that it has the packages.
const PYTHON: &str = "python3";

/// Whether `python3` runs and imports `jwt` (PyJWT) and `cryptography`; why not, when it does not.
pub fn available() -> Result<(), String> {
    let out = Command::new(PYTHON)
        .args(["-c", "import jwt, cryptography"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{PYTHON} cannot be run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{PYTHON} lacks PyJWT or cryptography: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Python for a test that needs it. Missing: in CI the test fails; elsewhere `None`, with the reason printed, and
/// the test returns early.
pub fn required(test: &str) -> Option<Python> {
    match available() {
        Ok(()) => Some(Python),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: {why}; run scripts/prepare.sh")
        }
        Err(why) => {
            eprintln!("{test}: skipped: {why} (scripts/prepare.sh installs them)");
            None
        }
    }
}

/// A `python3` that has PyJWT and `cryptography`.
#[derive(Debug, Clone, Copy)]
pub struct Python;

impl Python {
    /// Runs the script at `script` with `args`; its stdout. Panics with its stderr when it fails.
    pub fn run(&self, script: &Path, args: &[&str]) -> String {
        let out = Command::new(PYTHON)
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {PYTHON} {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{PYTHON} {} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
