#!/usr/bin/env bash
# Installs LocalStack (host mode, no Docker) for the test lane into .localstack-venv/ (git-ignored):
# Python 3.13 (BLOBSERVER_LOCALSTACK_PYTHON, pyenv's, or python3.13 on PATH), and from PyPI
# exactly the versions pinned in requirements.txt beside this script (scripts/pinned-venv.sh).
# Does nothing when that venv already has exactly them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/pinned-venv.sh
localstack_imports() {
  "$1/bin/python" -c 'import localstack.runtime.main'
}
pinned_venv LocalStack .localstack-venv scripts/localstack/requirements.txt 3.13 BLOBSERVER_LOCALSTACK_PYTHON bin/python localstack_imports
