#!/usr/bin/env bash
# Installs checkov and cfn-lint (test/infra/checkov.test.ts runs them on the synthesized template)
# into .checkov-venv/ (git-ignored): Python 3.12 (BLOBSERVER_CHECKOV_PYTHON, pyenv's, or
# python3.12 on PATH), and from PyPI exactly the versions pinned in requirements.txt beside this
# script (scripts/pinned-venv.sh). Does nothing when that venv already has exactly them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/pinned-venv.sh
checkov_starts() {
  "$1/bin/checkov" --version >/dev/null
  "$1/bin/cfn-lint" --version >/dev/null
}
pinned_venv checkov .checkov-venv scripts/checkov/requirements.txt 3.12 BLOBSERVER_CHECKOV_PYTHON bin/checkov checkov_starts
