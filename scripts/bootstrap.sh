#!/usr/bin/env bash
# Build the project's virtual environment from nothing: Debian packages first (only
# when missing), then every Python dependency pinned in pyproject.toml.
set -euo pipefail
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
