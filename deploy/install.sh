#!/usr/bin/env bash
# Installs berth on a Debian bookworm host and starts the daemon on its built-in defaults.
#
#   deploy/install.sh              system packages, npm dependencies, build, install, start
#   deploy/install.sh --deps-only  system packages, npm dependencies and build only (what CI needs)
#
# Run as root from a checkout. Safe to run again: it rebuilds and restarts the daemon.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps_only=false
[ "${1:-}" = "--deps-only" ] && deps_only=true

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (berth manages namespaces, mounts and cgroups)" >&2
  exit 1
fi

log() { printf '==> %s\n' "$*"; }

log "installing system packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
grep -Ev '^\s*(#|$)' "$repo/deploy/apt-packages.txt" | xargs apt-get install -y -qq --no-install-recommends >/dev/null

# The tests drive the streaming server with a real kubectl: Debian's, unpacked into the checkout
# rather than installed, so it cannot clash with a kubectl the host already has.
kubectl_dir="$repo/.cache/kubernetes-client"
if [ ! -x "$kubectl_dir/usr/bin/kubectl" ]; then
  log "unpacking Debian's kubectl for the tests into $kubectl_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq kubernetes-client >/dev/null 2>&1)
  mkdir -p "$kubectl_dir"
  dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$kubectl_dir"
  rm -rf "$tmp"
fi

log "installing npm dependencies"
cd "$repo"
npm ci --no-audit --no-fund --loglevel=error

log "building"
npm run --silent build

$deps_only && exit 0

log "installing berth"
# The CLI's shebang carries the daemon's node flags; the wrapper only pins which node runs it.
cat >/usr/local/bin/berth <<WRAPPER
#!/bin/sh
PATH="$(dirname "$(command -v node)"):\$PATH" exec "$repo/dist/server/cli.js" "\$@"
WRAPPER
chmod 0755 /usr/local/bin/berth
install -d -m 0755 /etc/berth
[ -e /etc/berth/berth.toml ] || install -m 0644 "$repo/deploy/berth.toml" /etc/berth/berth.toml
install -d -m 0755 /etc/cni/net.d
if ! ls /etc/cni/net.d/*.conf /etc/cni/net.d/*.conflist /etc/cni/net.d/*.json >/dev/null 2>&1; then
  install -m 0644 "$repo/deploy/10-berth-bridge.conflist" /etc/cni/net.d/10-berth-bridge.conflist
fi
[ -e /etc/crictl.yaml ] || install -m 0644 "$repo/deploy/crictl.yaml" /etc/crictl.yaml

log "starting the daemon"
if [ -d /run/systemd/system ]; then
  install -m 0644 "$repo/deploy/berth.service" /etc/systemd/system/berth.service
  systemctl daemon-reload
  systemctl enable berth.service >/dev/null
  systemctl restart berth.service
else
  # No systemd (a container or a minimal VM): run it detached, logging to /var/log/berth.log.
  pidfile=/run/berth.pid
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -TERM "$(cat "$pidfile")"
    for _ in $(seq 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
  setsid /usr/local/bin/berth daemon </dev/null >>/var/log/berth.log 2>&1 &
  echo $! >"$pidfile"
fi

for _ in $(seq 100); do
  [ -S /run/berth/berth.sock ] && break
  sleep 0.1
done
if [ ! -S /run/berth/berth.sock ]; then
  echo "install.sh: the daemon did not come up; see /var/log/berth.log or journalctl -u berth" >&2
  exit 1
fi
log "berth $(berth version | head -1 | cut -d' ' -f2) is serving unix:///run/berth/berth.sock"
