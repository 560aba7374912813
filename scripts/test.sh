#!/usr/bin/env bash
# Runs the whole test suite: unit tests and the integration tests against a real broker (Tansu), which
# the tests start themselves on a free 127.0.0.1 port and stop when they end. Installs what is missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FEEDBACK_ROOT"
bash scripts/install-deps.sh
swift build --build-tests
if (($#)); then
  swift test --skip-build "$@"
else
  # The fault tests run alone after the rest: they kill and restart brokers and measure memory, and
  # should not share the two cores with the parallel suites.
  swift test --skip-build --skip FaultTests
  swift test --skip-build --filter FaultTests
fi
