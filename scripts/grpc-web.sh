#!/usr/bin/env bash
# gRPC-Web end to end, with a client nobody here wrote: starts `portal up` (browser origin allowed through
# server.cors_allowed_origins), mints a service token, and runs tests/grpc-web/check.mjs — Connect's gRPC-Web
# transport for Node over HTTP/1.1 (@connectrpc/connect-node), message types read from the descriptor set buf
# builds from proto/. It calls CreateAccount, CreateUser, GetUser and the WatchAdvisory server stream, checks
# error codes, and the CORS preflight for an allowed and a refused origin. Fails on any mismatch.
#
# usage: scripts/grpc-web.sh            (CARGO=… picks the cargo to build with; CARGO_TARGET_DIR is honoured)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-target}
work=$target/grpc-web
origin=https://portal.example.com
mkdir -p "$work"

echo "== npm ci (tests/grpc-web, pinned by package-lock.json)"
npm ci --prefix tests/grpc-web --no-audit --no-fund --silent --cache "${npm_config_cache:-$HOME/.npm}"

echo "== descriptor set (buf build proto)"
tests/grpc-web/node_modules/.bin/buf build proto --as-file-descriptor-set -o "$work/portal.binpb"

echo "== building portal"
"$cargo" build -q -p portal
portal=$target/debug/portal

data=$(mktemp -d)
pid=
cleanup() {
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT

echo "== portal up (cors_allowed_origins = $origin)"
PORTAL_SERVER__CORS_ALLOWED_ORIGINS=$origin PORTAL_TELEMETRY__LOG_FORMAT=text PORTAL_NOTIFICATION__PUBLIC__LISTEN=127.0.0.1:0 \
    "$portal" up --data-dir "$data" --listen 127.0.0.1:0 >"$work/portal.out" 2>"$work/portal.log" &
pid=$!
address=
for _ in $(seq 600); do
    address=$(sed -n 's/^portal: serving .* on //p' "$work/portal.out")
    [[ -n $address ]] && break
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "portal up exited; its log:" >&2
        cat "$work/portal.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ -z $address ]]; then
    echo "portal up did not start serving within 60 s" >&2
    exit 1
fi
token=$("$portal" token --data-dir "$data" --service grpc-web-check --scope "identity.admin notification.publish")

echo "== node tests/grpc-web/check.mjs against http://$address"
if ! PORTAL_URL="http://$address" PORTAL_TOKEN="$token" DESCRIPTORS="$work/portal.binpb" ALLOWED_ORIGIN="$origin" \
    node tests/grpc-web/check.mjs; then
    echo "== portal log (last 50 lines)" >&2
    tail -n 50 "$work/portal.log" >&2
    exit 1
fi
