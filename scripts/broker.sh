#!/usr/bin/env bash
# Runs a local Kafka-compatible broker (Tansu, in-memory storage) on 127.0.0.1 only.
#   scripts/broker.sh start [PORT]      start (PORT defaults to a free one); prints "127.0.0.1:PORT"
#   scripts/broker.sh topic NAME [N]    create topic NAME with N partitions (default 4)
#   scripts/broker.sh stop              stop the broker started by this script
#   scripts/broker.sh address           print the running broker's address
# State lives in .deps/run/ (pid, port, log). Run scripts/install-deps.sh first.
set -euo pipefail
source "$(dirname "$0")/env.sh"
run="$FEEDBACK_DEPS/run"
mkdir -p "$run"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

running() { [[ -f "$run/broker.pid" ]] && kill -0 "$(cat "$run/broker.pid")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "127.0.0.1:$(cat "$run/broker.port")"; exit 0; fi
    [[ -x "$TANSU_BIN" ]] || { echo "broker.sh: no Tansu at $TANSU_BIN; run scripts/install-deps.sh" >&2; exit 1; }
    port="${2:-$(free_port)}"
    nohup "$TANSU_BIN" broker \
      --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine memory://tansu/ >"$run/broker.log" 2>&1 &
    echo $! >"$run/broker.pid"
    echo "$port" >"$run/broker.port"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "127.0.0.1:$port"; exit 0; fi
      sleep 0.05
    done
    echo "broker.sh: broker did not listen on 127.0.0.1:$port within 5 s; log:" >&2
    tail -n 20 "$run/broker.log" >&2
    exit 1
    ;;
  topic)
    running || { echo "broker.sh: no broker running" >&2; exit 1; }
    "$TANSU_BIN" topic create "$2" --partitions "${3:-4}" --broker "tcp://127.0.0.1:$(cat "$run/broker.port")"
    ;;
  address)
    running || { echo "broker.sh: no broker running" >&2; exit 1; }
    echo "127.0.0.1:$(cat "$run/broker.port")"
    ;;
  stop)
    if running; then
      pid=$(cat "$run/broker.pid"); kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$run/broker.pid" "$run/broker.port"
    ;;
  *) sed -n '2,8p' "$0"; exit 2 ;;
esac
