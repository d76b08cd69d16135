#!/usr/bin/env bash
# Builds the real Temporal server and temporal-sql-tool for `npm run start:cluster` into .tools/temporal-server,
# through the Go module proxy (no vendor download). Only the first run pays for the build (minutes on 2 cores):
# a later run finds the binaries with the pinned version (the VERSION stamp is written after a complete build) and
# returns at once. The server's SQL schema files are copied beside the binaries, so running the cluster needs no Go.
#
# Without Go on the machine (a fresh CI runner), Debian's golang-go is installed; GOTOOLCHAIN=auto then fetches
# the newer Go toolchain the server needs, through the same proxy.
set -euo pipefail

VERSION="${TEMPORAL_SERVER_VERSION:-v1.32.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET="${TEMPORAL_SERVER_TOOLS:-$ROOT/.tools/temporal-server}"
STAMP="$TARGET/VERSION"

UI_VERSION="${TEMPORAL_UI_VERSION:-v2.56.3}"
UI_TARGET="$ROOT/.tools/temporal-ui"
UI_TRIED="$UI_TARGET/TRIED"
if [[ -x "$TARGET/server" && -x "$TARGET/sql" && -d "$TARGET/schema" && "$(cat "$STAMP" 2>/dev/null)" == "$VERSION" ]] &&
  [[ "$(cat "$UI_TRIED" 2>/dev/null)" == "$UI_VERSION" ]]; then
  echo "temporal-server $VERSION already built in $TARGET"
  exit 0
fi

GO="$(command -v go || true)"
[[ -z "$GO" && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
if [[ -z "$GO" ]]; then
  echo "no Go found; installing Debian's golang-go (GOTOOLCHAIN=auto fetches the version the server needs)"
  SUDO=""
  [[ "$(id -u)" != 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go
  GO="$(command -v go)"
fi

mkdir -p "$TARGET"
started=$(date +%s)
if [[ ! -x "$TARGET/server" || ! -x "$TARGET/sql" || ! -d "$TARGET/schema" || "$(cat "$STAMP" 2>/dev/null)" != "$VERSION" ]]; then
  rm -f "$STAMP"
  echo "building go.temporal.io/server $VERSION (server, temporal-sql-tool) into $TARGET; minutes on the first run"
  GOTOOLCHAIN=auto GOBIN="$TARGET" "$GO" install \
    "go.temporal.io/server/cmd/server@$VERSION" "go.temporal.io/server/cmd/tools/sql@$VERSION"

  # The versioned schema folders that temporal-sql-tool applies, from the module the build just downloaded.
  MODULE="$(GOTOOLCHAIN=auto GOFLAGS=-mod=mod "$GO" env GOMODCACHE)/go.temporal.io/server@$VERSION"
  rm -rf "$TARGET/schema"
  mkdir -p "$TARGET/schema"
  cp -r "$MODULE/schema/postgresql" "$TARGET/schema/"
  chmod -R u+w "$TARGET/schema"
  echo "$VERSION" > "$STAMP"
  echo "built temporal-server $VERSION in $(( $(date +%s) - started )) s"
fi

# The Web UI server, best effort: its newest versions need a go.temporal.io/api version the proxy refuses, so a
# pinned older one is built; when even that fails, the cluster runs without a UI (docs/cluster.md).
# Tried once per version (TRIED), so that a refused build does not cost every later run its minutes.
if [[ "$(cat "$UI_TRIED" 2>/dev/null)" != "$UI_VERSION" ]]; then
  mkdir -p "$UI_TARGET"
  if GOTOOLCHAIN=auto GOBIN="$UI_TARGET" "$GO" install "github.com/temporalio/ui-server/v2/cmd/server@$UI_VERSION"; then
    echo "$UI_VERSION" > "$UI_TARGET/VERSION"
  else
    echo "could not build the Temporal Web UI $UI_VERSION; the cluster runs without one"
  fi
  echo "$UI_VERSION" > "$UI_TRIED"
fi
