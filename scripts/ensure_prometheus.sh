#!/usr/bin/env bash
# Make sure Debian's prometheus (server + promtool) is installed. Idempotent and quiet:
# prints one progress line per step, exits 0 when both binaries are on PATH, 3 when apt
# cannot be used here (not root and no passwordless sudo, or no apt at all).
set -euo pipefail

have() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

if have; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_prometheus: apt-get not found; install prometheus (server and promtool) by hand" >&2
  exit 3
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure_prometheus: not root and no passwordless sudo; run: sudo apt-get install -y prometheus" >&2
    exit 3
  fi
fi
# A lock so parallel callers (two test sessions) do not fight over dpkg.
exec 9>/tmp/pmm-ensure-prometheus.lock
flock -w 600 9
if have; then exit 0; fi
echo "ensure_prometheus: installing Debian's prometheus (apt-get, a minute or two)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends prometheus >/tmp/pmm-apt-prometheus.log 2>&1; then
  echo "ensure_prometheus: apt-get install failed; refreshing the package lists and retrying" >&2
  $SUDO apt-get update -q >>/tmp/pmm-apt-prometheus.log 2>&1 || true
  $SUDO apt-get install -y -q --no-install-recommends prometheus >>/tmp/pmm-apt-prometheus.log 2>&1 || {
    echo "ensure_prometheus: apt-get install prometheus failed; see /tmp/pmm-apt-prometheus.log" >&2
    exit 3
  }
fi
# The package starts a system service; pmm runs its own server per test, so stop it if it started.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
have && echo "ensure_prometheus: $(promtool --version 2>&1 | head -1)" >&2
