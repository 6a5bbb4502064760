#!/usr/bin/env bash
# The contracts' checks, with buf: `buf lint` (STANDARD, exceptions explained in proto/buf.yaml) and `buf breaking`
# against a git ref — by default the parent commit, so a commit that breaks clients of the contract fails CI — and
# the descriptor set clients generate code from, written to target/proto/portal.binpb.
# buf comes from the npm registry (@bufbuild/buf, pinned) into a cache directory; no global install.
#
# usage: scripts/proto.sh [REF]   e.g. scripts/proto.sh origin/main before pushing a branch
set -euo pipefail
cd "$(dirname "$0")/.."

against=${1:-HEAD~1}
version=1.75.0
dir=${PORTAL_BUF_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portal-buf-$version}
buf=$dir/node_modules/.bin/buf
if [[ ! -x $buf ]]; then
    echo "installing @bufbuild/buf@$version into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent "@bufbuild/buf@$version"
fi

echo "== buf lint proto"
"$buf" lint proto

if git rev-parse --verify --quiet "$against^{commit}" >/dev/null; then
    echo "== buf breaking proto against $against"
    "$buf" breaking proto --against ".git#ref=$against,subdir=proto"
else
    echo "== buf breaking: no commit $against here (a shallow clone?); skipped" >&2
fi

mkdir -p target/proto
"$buf" build proto --as-file-descriptor-set -o target/proto/portal.binpb
echo "== descriptor set: target/proto/portal.binpb"
