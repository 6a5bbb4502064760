//! A real CSAF downloader, nobody here wrote: csaf-walker (Red Hat's, the one Trustify runs), built from
//! `tests/csaf-downloader` by `scripts/prepare.sh` (a workspace of its own, so its dependencies' features never
//! reach the suite's crates). It walks a provider from its metadata URL: the metadata, the OpenPGP keys it lists
//! (fingerprints checked), every ROLIE feed, every document with its digests and signature. In CI (`CI` set) a
//! test that needs it fails when it is missing; elsewhere it is skipped with the reason printed.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde::Deserialize;

/// What the downloader made of one document: whether its digests and its signature verified (`None`: the file
/// was absent), and what went wrong.
#[derive(Debug, Clone, Deserialize)]
pub struct Walked {
    pub url: String,
    pub digest_ok: Option<bool>,
    pub signature_ok: Option<bool>,
    pub errors: Vec<String>,
}

/// The built downloader.
#[derive(Debug, Clone)]
pub struct Downloader {
    binary: PathBuf,
}

fn binary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/csaf-downloader/target/debug/csaf-downloader")
}

/// The downloader for a test that needs it. Missing: in CI the test fails; elsewhere `None`, with the reason
/// printed, and the test returns early.
pub fn required(test: &str) -> Option<Downloader> {
    let binary = binary();
    if binary.exists() {
        return Some(Downloader { binary });
    }
    let why = format!("{} is not built", binary.display());
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}; run scripts/prepare.sh");
    }
    eprintln!("{test}: skipped: {why} (scripts/prepare.sh builds tests/csaf-downloader)");
    None
}

impl Downloader {
    /// Walks the provider whose metadata is at `metadata_url`; every document it found, by URL. Panics when the
    /// walk itself fails (metadata, key or feed unreadable, a fingerprint that does not match).
    pub async fn walk(&self, metadata_url: &str) -> Vec<Walked> {
        let out = tokio::process::Command::new(&self.binary)
            .arg(metadata_url)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.binary.display()));
        assert!(
            out.status.success(),
            "csaf-walker could not walk {metadata_url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut walked: Vec<Walked> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect();
        walked.sort_by(|a, b| a.url.cmp(&b.url));
        walked
    }
}

/// GnuPG, for a detached signature: imports public keys into a throwaway home and verifies with them.
pub struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    /// A keyring holding the armored public key `public_key`.
    pub fn with_key(public_key: &str) -> Self {
        let home = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let gpg = Self { home };
        let key = gpg.home.path().join("key.asc");
        std::fs::write(&key, public_key).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
        let out = gpg.run(&["--import", &key.to_string_lossy()]);
        assert!(
            out.status.success(),
            "gpg --import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        gpg
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--no-tty", "--status-fd", "1"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("gpg cannot be run ({e}); scripts/prepare.sh installs gnupg")
            })
    }

    /// The fingerprint of the first key in the keyring, as GnuPG computes it.
    pub fn fingerprint(&self) -> String {
        let out = self.run(&["--with-colons", "--fingerprint", "--list-keys"]);
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap_or_else(|| panic!("no fingerprint in {listing}"))
    }

    /// Whether `gpg --verify signature data` reports a good signature by a key in the keyring.
    pub fn verifies(&self, signature: &Path, data: &Path) -> bool {
        let out = self.run(&[
            "--verify",
            &signature.to_string_lossy(),
            &data.to_string_lossy(),
        ]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("[GNUPG:] VALIDSIG")
    }
}
