# Sourced by every script: one place for paths shared by builds, tests and CI.
# shellcheck shell=bash
FEEDBACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEEDBACK_DEPS="${FEEDBACK_DEPS:-$FEEDBACK_ROOT/.deps}"
# Debian's python3-swiftclient installs an unrelated /usr/bin/swift: the toolchain must come first.
export PATH="/opt/swift/usr/bin:$FEEDBACK_DEPS/bin:$PATH"
# librdkafka 2.16 (from the confluent-kafka wheel) shadows Debian's 2.0.2, which cannot talk to Tansu.
export LD_LIBRARY_PATH="$FEEDBACK_DEPS/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LIBRARY_PATH="$FEEDBACK_DEPS/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export TANSU_BIN="${TANSU_BIN:-$FEEDBACK_DEPS/bin/tansu}"
# The project's Python (a venv made by install-deps.sh): moto for the fault tests, pip for the wheels.
export FEEDBACK_PYTHON="$FEEDBACK_DEPS/venv/bin/python3"
export FEEDBACK_DEPS FEEDBACK_ROOT
