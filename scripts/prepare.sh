#!/usr/bin/env bash
# Makes a machine ready for the test suite: cargo-nextest, a running PostgreSQL on 127.0.0.1:5432 (the
# ::postgres tests create and drop their own databases there), and the Postfix binaries (portal_testkit::postfix
# starts private instances of its own; the system's mail service is not wanted). Idempotent.
set -euo pipefail

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

# The DKIM test signs with an RSA key the OpenSSL command line makes (services/portal/tests/mail.rs).
if ! command -v openssl >/dev/null 2>&1; then
    echo "installing openssl"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y openssl || { apt-get update && apt-get install -y openssl; }
fi

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
