#!/usr/bin/env bash
# Installs LocalStack (host mode, no Docker) for the test lane into .localstack-venv/ (git-ignored):
# Python 3.13 (pyenv's, or python3.13 on PATH), and from PyPI exactly the versions pinned in
# requirements.txt beside this script. Does nothing when that venv already has exactly them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
venv=.localstack-venv
req=scripts/localstack/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "LocalStack: $venv is up to date"
  exit 0
fi

python=${BLOBSERVER_LOCALSTACK_PYTHON:-}
if [[ -z "$python" ]]; then
  # pyenv's shim for python3.13 exists even when it refuses to run it, so each candidate is tried.
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3 /root/.pyenv/versions/3.13*/bin/python3 python3.13; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1; then
      python=$candidate
      break
    fi
  done
fi
if [[ -z "$python" ]]; then
  echo "LocalStack needs Python 3.13 (the pinned set was made on it): none found; set BLOBSERVER_LOCALSTACK_PYTHON=/path/to/python3.13" >&2
  exit 1
fi

echo "LocalStack: installing the pinned set into $venv with $("$python" --version)"
rm -rf "$venv"
"$python" -m venv "$venv"
# --no-deps: the file is the whole dependency set; pip check proves it is complete and consistent.
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$req"
"$venv/bin/pip" check
"$venv/bin/python" -c 'import localstack.runtime.main'
echo "$want" > "$stamp"
