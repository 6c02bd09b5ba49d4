#!/usr/bin/env bash
# Installs checkov and cfn-lint (test/infra/checkov.test.ts runs them on the synthesized template)
# into .checkov-venv/ (git-ignored): Python 3.12 (pyenv's, or python3.12 on PATH), and from PyPI
# exactly the versions pinned in requirements.txt beside this script. Does nothing when that venv
# already has exactly them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
venv=.checkov-venv
req=scripts/checkov/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x "$venv/bin/checkov" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "checkov: $venv is up to date"
  exit 0
fi

python=${BLOBSERVER_CHECKOV_PYTHON:-}
if [[ -z "$python" ]]; then
  # pyenv's shim for python3.12 exists even when it refuses to run it, so each candidate is tried.
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3 /root/.pyenv/versions/3.12*/bin/python3 python3.12; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
      python=$candidate
      break
    fi
  done
fi
if [[ -z "$python" ]]; then
  echo "checkov needs Python 3.12 (the pinned set was made on it): none found; set BLOBSERVER_CHECKOV_PYTHON=/path/to/python3.12" >&2
  exit 1
fi

echo "checkov: installing the pinned set into $venv with $("$python" --version)"
rm -rf "$venv"
"$python" -m venv "$venv"
# --no-deps: the file is the whole dependency set; pip check proves it is complete and consistent.
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$req"
"$venv/bin/pip" check
"$venv/bin/checkov" --version >/dev/null
"$venv/bin/cfn-lint" --version >/dev/null
echo "$want" > "$stamp"
