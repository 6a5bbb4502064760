#!/usr/bin/env bash
# Installs what the benchmark and its profiles use, from Debian's packages: Postfix's smtp-sink/smtp-source (the
# reference SMTP sink and load source), h2load (gRPC over HTTP/2 from outside) and perf. Idempotent.
set -euo pipefail

missing=()
command -v smtp-sink >/dev/null 2>&1 || missing+=(postfix)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q "${missing[@]}" >/dev/null || {
        $sudo apt-get update -q >/dev/null
        $sudo apt-get install -y -q "${missing[@]}" >/dev/null
    }
fi
