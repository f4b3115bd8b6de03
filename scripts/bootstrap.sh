#!/usr/bin/env bash
# Build the project's virtual environments from nothing.
#
#   bootstrap.sh [PYTHON] [VENV]
#       .venv: Debian packages first (only when missing), then pmm and every Python
#       dependency pinned in pyproject.toml.
#   bootstrap.sh --kalshi [VENV] [REQUIREMENTS]
#       .venv-kalshi: a Python 3.13 environment with the official Kalshi client, which the
#       conformance suite (tests/conformance) runs unchanged; kalshi-python-sync needs
#       Python >= 3.13. Its pin lives in one place, tests/conformance/requirements-kalshi.txt.
#       Python 3.13 is taken from $PYTHON313, PATH (python3.13) or pyenv
#       ($(pyenv root)/versions/3.13.*); without one this fails saying what to install.
set -euo pipefail

find_python313() {
  local candidate
  for candidate in "${PYTHON313:-}" python3.13; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 13)' \
        2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    while read -r candidate; do
      if [ -x "$candidate" ] && "$candidate" -c 'import venv, ensurepip' 2>/dev/null; then
        echo "$candidate"
        return 0
      fi
    done < <(ls -d "$(pyenv root)"/versions/3.13.*/bin/python 2>/dev/null | sort -V -r)
  fi
  return 1
}

kalshi_env() {
  local venv=${1:-.venv-kalshi} requirements=${2:-tests/conformance/requirements-kalshi.txt}
  local python313
  if ! python313=$(find_python313); then
    cat >&2 <<'MSG'
error: the Kalshi conformance suite needs Python 3.13 (kalshi-python-sync requires >= 3.13),
and none was found: not $PYTHON313, not python3.13 on PATH, not $(pyenv root)/versions/3.13.*.
Install Python 3.13 with its venv module, for example `pyenv install 3.13` or the Debian
packages python3.13 and python3.13-venv, or set PYTHON313 to a 3.13 interpreter; then run
`make test` again.
MSG
    exit 1
  fi
  echo "==> creating $venv with $("$python313" --version) ($python313)"
  "$python313" -m venv --clear "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  echo "==> installing the official Kalshi client pinned in $requirements"
  "$venv/bin/python" -m pip install -q --progress-bar off -r "$requirements"
  echo "==> ready: $venv"
}

if [ "${1:-}" = "--kalshi" ]; then
  shift
  kalshi_env "$@"
  exit 0
fi

python=${1:-python3}
venv=${2:-.venv}

need_apt=()
"$python" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq && DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq "${need_apt[@]}"
fi

echo "==> creating $venv with $($python --version)"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
echo "==> installing pmm and its pinned dependencies (a minute on a fresh machine)"
"$venv/bin/python" -m pip install -q --progress-bar off -e '.[test]'
echo "==> ready: $venv"
