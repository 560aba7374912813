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
  (cd "$data" && "$OLDPWD/$feedback" demo --durable "$@")
  echo "the first event in $data/feedback-data/events.sqlite:"
  python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select payload from events order by offset limit 1').fetchone()[0].decode())" \
    "$data/feedback-data/events.sqlite"
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
