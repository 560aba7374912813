#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the integration tests against a real broker (Tansu), which
# the tests start themselves on a free 127.0.0.1 port and stop when they end. Installs what is missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FEEDBACK_ROOT"
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build "$@"
