#!/usr/bin/env bash
# Fault injection (issue 14), the long versions: PORTAL_FAULTS_LONG=1 makes the SIGKILL test a 10,000-recipient
# fan-out on PostgreSQL killed 10 times at random moments. The other faults run at full size in the normal suite
# too, and run here once more: PostgreSQL connections killed and the server crashed and restarted under load (a
# private cluster, never the shared one), SMTP refusing for 30 s mid-fan-out, licensing down during a purchase.
# Each prints what it injected and what it measured. PORTAL_FAULTS_SEED=<n> replays the kill moments of a run.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORTAL_FAULTS_LONG=1
cargo nextest run --no-fail-fast --no-capture \
    -p portal --test crash \
    -p portal-e2e --test faults --test notification --test billing \
    -E 'test(/sigkills_mid_fan_out|postgres_killed_connections|smtp_refusing_for_30_s|while_licensing_is_down/)' \
    "$@"
