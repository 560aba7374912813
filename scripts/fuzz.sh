#!/usr/bin/env bash
# Builds the libFuzzer targets (with -sanitize=fuzzer,address, in their own build folder) and runs each for a
# bounded time: `scripts/fuzz.sh [SECONDS]` (default 60). Fails when a target crashes, hangs or its readers
# disagree; the input that did it is left in .build-fuzz/crashes/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$FEEDBACK_ROOT"
seconds="${1:-60}"
swift build --scratch-path .build-fuzz --product FeedbackFuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
  -Xswiftc -parse-as-library 2>&1 | grep -v "Cannot export local symbol" | grep -E "error" && exit 1 || true
corpus=.build-fuzz/corpus/event-reader
mkdir -p "$corpus" .build-fuzz/crashes
# Seeds: events as the collector writes them and as the seed's Go code did.
printf '%s' '{"user_id":"u1","item_id":"i1","scene":"feed","type":"click","timestamp":1704067200,"position":3,"score":0.5,"labels":{"recall_source":"hot"},"extras":{"amount":9.5,"category":"books"},"event_id":"e1","request_id":"r1","device_id":"d1","timestamp_ms":1704067200000,"schema_version":2}' >"$corpus/collector.json"
printf '%s' '{"user_id":"u1","item_id":"i1","scene":"feed","type":"impression","timestamp":1704067200,"position":0,"score":0,"labels":{},"extras":{}}' >"$corpus/seed.json"
printf '%s' '{"item_id":"i\u0000","type":"conversion","extras":{"x":[[{"a":null}],true,-1e5]},"timestamp_ms":"1"}' >"$corpus/odd.json"
SWIFT_BACKTRACE=enable=no .build-fuzz/debug/FeedbackFuzz "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -artifact_prefix=.build-fuzz/crashes/ -print_final_stats=1 2>&1 | tail -n 12
echo "fuzz: event reader ran ${seconds}s without a finding"
