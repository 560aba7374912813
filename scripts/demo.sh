#!/usr/bin/env bash
# Runs the demo: a recommendation pipeline with the feedback hook, simulated users clicking and buying.
#   scripts/demo.sh            events go to the embedded local log (no external service)
#   scripts/demo.sh --kafka    starts a local broker (Tansu, 127.0.0.1) for the run and sends them to Kafka
# Other arguments go to `feedback demo`. Installs what is missing first.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FEEDBACK_ROOT"
bash scripts/install-deps.sh >/dev/null
swift build -c release --product feedback >/dev/null
feedback=.build/release/feedback
data=$(mktemp -d -t feedback-demo.XXXXXX)

if [[ "${1:-}" != "--kafka" ]]; then
  # The whole loop on the embedded default: pipeline -> collector -> local log -> processor ->
  # profiles, training samples, live metrics.
  cd "$data"
  "$OLDPWD/$feedback" demo --durable "$@"
  echo "processor: $("$OLDPWD/$feedback" process --close-windows)"
  echo "profile of user_1:"
  "$OLDPWD/$feedback" profile user_1
  echo "live metrics (latest windows):"
  "$OLDPWD/$feedback" metrics --last 6
  echo "training samples: $(find feedback-data/samples -name '*.jsonl.gz' | wc -l) file(s) under $data/feedback-data/samples, e.g."
  # sed reads to the end: `| head -n 1` would let gzip die of SIGPIPE (exit 141 under pipefail).
  gzip -dc "$(find feedback-data/samples -name '*.jsonl.gz' -print -quit)" | sed -n 1p
  exit 0
fi

shift
started_here=false
if ! broker=$(bash scripts/broker.sh address 2>/dev/null); then
  broker=$(bash scripts/broker.sh start)
  started_here=true
fi
trap '[[ $started_here == true ]] && bash scripts/broker.sh stop' EXIT
topic="feedback-demo-$(date +%s)"
bash scripts/broker.sh topic "$topic" 4 >/dev/null
(cd "$data" && "$OLDPWD/$feedback" demo --brokers "$broker" --topic "$topic" --flush-interval-ms 5 "$@")
count=$(kcat -C -b "$broker" -t "$topic" -o beginning -e -q | wc -l)
echo "kcat read $count events back from '$topic'; the first:"
kcat -C -b "$broker" -t "$topic" -o beginning -c 1 -q -f 'key=%k %s\n'
