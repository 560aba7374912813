#!/usr/bin/env bash
# Runs the demo: a recommendation pipeline with the feedback hook, simulated users clicking and buying,
# every event sent to Kafka. Starts a local broker (Tansu, 127.0.0.1) for the run and stops it after,
# then reads the topic back with kcat to show what arrived. Extra arguments go to `feedback demo`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FEEDBACK_ROOT"
bash scripts/install-deps.sh >/dev/null
swift build -c release --product feedback >/dev/null
started_here=false
if ! broker=$(bash scripts/broker.sh address 2>/dev/null); then
  broker=$(bash scripts/broker.sh start)
  started_here=true
fi
trap '[[ $started_here == true ]] && bash scripts/broker.sh stop' EXIT
topic="feedback-demo-$(date +%s)"
bash scripts/broker.sh topic "$topic" 4 >/dev/null
.build/release/feedback demo --brokers "$broker" --topic "$topic" --flush-interval-ms 5 "$@"
count=$(kcat -C -b "$broker" -t "$topic" -o beginning -e -q | wc -l)
echo "kcat read $count events back from '$topic'; the first:"
kcat -C -b "$broker" -t "$topic" -o beginning -c 1 -q -f 'key=%k %s\n'
