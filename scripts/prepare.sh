#!/usr/bin/env bash
# Makes a machine ready for the test suite: cargo-nextest, a running PostgreSQL on 127.0.0.1:5432 (the
# ::postgres tests create and drop their own databases there), and the Postfix binaries (portal_testkit::postfix
# starts private instances of its own; the system's mail service is not wanted), and the checkers nobody here wrote
# (PyJWT, the BSI's CSAF validator, Chromium, csaf-walker). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

if [ ! -x /usr/sbin/postfix ]; then
    echo "installing postfix"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y postfix || { apt-get update && apt-get install -y postfix; }
fi
# The package starts (or enables) a system instance on port 25; the tests only use their own instances.
if /usr/sbin/postfix status >/dev/null 2>&1; then
    echo "stopping the system postfix"
    /usr/sbin/postfix stop || true
fi
systemctl disable postfix >/dev/null 2>&1 || update-rc.d postfix disable >/dev/null 2>&1 || true

# The DKIM test signs with an RSA key the OpenSSL command line makes (services/portal/tests/mail.rs); the key file
# test opens the suite's keys with it (services/portal/tests/keys.rs).
if ! command -v openssl >/dev/null 2>&1; then
    echo "installing openssl"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y openssl || { apt-get update && apt-get install -y openssl; }
fi

# Verifiers nobody here wrote: PyJWT (with cryptography) checks the suite's tokens and grants against its JWKS, and
# opens its key files (services/portal/tests/keys.rs, portal_testkit::python). Into the python3 on PATH, which is
# the one the tests run; a cryptography already there (Debian's python3-cryptography, say) is kept.
PYTHON_PACKAGES=("PyJWT==2.15.1")
python3 -c 'import cryptography' >/dev/null 2>&1 || PYTHON_PACKAGES+=("cryptography==48.0.0")
if ! python3 -c 'import sys, jwt; sys.exit(jwt.__version__ != "2.15.1")' >/dev/null 2>&1 \
    || [ "${#PYTHON_PACKAGES[@]}" -gt 1 ]; then
    echo "installing ${PYTHON_PACKAGES[*]}"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${PYTHON_PACKAGES[@]}" \
        || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --break-system-packages "${PYTHON_PACKAGES[@]}"
fi

# A real browser for the acknowledgement page's tests (N9, portal_testkit::browser): Debian's Chromium and its
# ChromeDriver, and axe-core (npm, pinned by tests/browser/package-lock.json) for the accessibility check.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "installing chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y chromium chromium-driver || { apt-get update && apt-get install -y chromium chromium-driver; }
fi

# The BSI's CSAF validator (@secvisogram/csaf-validator-lib, pinned by tests/csaf-validator/package-lock.json) checks
# every document the suite exports against the schema, mandatory and recommended tests
# (tests/tests/notification/csaf_validator.rs, through portal_testkit::csaf). Node from Debian if it is missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y nodejs npm || { apt-get update && apt-get install -y nodejs npm; }
fi
if ! cmp -s tests/csaf-validator/package-lock.json tests/csaf-validator/node_modules/.package-lock.ci 2>/dev/null; then
    echo "installing tests/csaf-validator (npm ci)"
    npm ci --prefix tests/csaf-validator --no-audit --no-fund --silent
    cp tests/csaf-validator/package-lock.json tests/csaf-validator/node_modules/.package-lock.ci
fi
# axe-core for the acknowledgement page's accessibility check (after Node, above).
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
    echo "npm ci (tests/browser)"
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi

# A real CSAF downloader for the provider's tests (N15, portal_testkit::downloader): csaf-walker, built from
# tests/csaf-downloader (its own workspace and lock file) into its own target directory; GnuPG and coreutils check
# the same files by hand. OpenSSL's headers for sequoia's OpenSSL backend.
if ! command -v gpg >/dev/null 2>&1 || [ ! -f /usr/include/openssl/ssl.h ] || ! command -v pkg-config >/dev/null 2>&1; then
    echo "installing gnupg, libssl-dev and pkg-config"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y gnupg libssl-dev pkg-config || { apt-get update && apt-get install -y gnupg libssl-dev pkg-config; }
fi
echo "building tests/csaf-downloader"
CARGO_TARGET_DIR=tests/csaf-downloader/target cargo build --quiet --locked --manifest-path tests/csaf-downloader/Cargo.toml

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
fi
for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
    sleep 1
done
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
