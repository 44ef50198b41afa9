#!/usr/bin/env bash
# evring stats, metrics and top on a ring with known content: exact counts (JSON parsed with jq),
# the Prometheus endpoint scraped with curl on loopback, and the refusals.
# Usage: test_stats.sh PATH/TO/evring
set -uo pipefail
EVR=$1
tag=evrt-stats-$$
dir=$(mktemp -d /tmp/$tag.XXXX)
fails=0 checks=0 server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  for r in /dev/shm/$tag-*; do [ -e "$r" ] && "$EVR" unlink --force "/${r#/dev/shm/}" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1"; echo "  expected: $2"; echo "  actual:   $3"; fi; }
expect_exit() {
  local want=$1 what=$2; shift 2
  "$@" >"$dir/out" 2>"$dir/err"; local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; cat "$dir/err"; fi
}

# known content: 10 plan_created from service "alpha", 5 tool_retried from service "beta"
R=/$tag-a
"$EVR" create $R --lanes 2 --slots 64 >/dev/null
for i in $(seq 10); do "$EVR" emit --service alpha $R plan_created plan_name=p$i; done
for i in $(seq 5); do "$EVR" emit --service beta $R tool_retried tool=t attempt=$i backoff_ms=10; done

"$EVR" stats $R --json > "$dir/stats.json"
expect_eq "stats totals" '{"records":15,"invalid":0,"lost_lapped":0,"lost_abandoned":0,"lag":0}' \
  "$(jq -c '{records,invalid,lost_lapped,lost_abandoned,lag}' "$dir/stats.json")"
expect_eq "stats per type" '{"plan_created":10,"tool_retried":5}' "$(jq -c '.types | map_values(.count)' "$dir/stats.json")"
expect_eq "stats per domain" '{"plan":10,"tool":5}' "$(jq -c .domains "$dir/stats.json")"
expect_eq "stats per service" '[{"service":"alpha","records":10},{"service":"beta","records":5}]' \
  "$(jq -c '[.producers | group_by(.service)[] | {service: .[0].service, records: (map(.records) | add)}]' "$dir/stats.json")"
"$EVR" stats $R > "$dir/stats.txt"
grep -Eq '^plan_created +10$' "$dir/stats.txt" && ok || bad "stats text plan_created 10"
grep -q '^records 15, lost 0 lapped + 0 abandoned, 0 invalid, lag 0$' "$dir/stats.txt" && ok || bad "stats text totals"
# interval mode: one report of what arrives during it
( sleep 0.3; "$EVR" emit $R budget_warning spent_micros=8 limit_micros=10 threshold_pct=80 budget=b ) &
"$EVR" stats $R --interval 1 --count 1 --json > "$dir/interval.json"; wait
expect_eq "interval report" '{"records":1,"types":{"budget_warning":1}}' \
  "$(jq -c '{records, types: (.types | map_values(.count))}' "$dir/interval.json")"

# metrics: a real HTTP client on loopback
"$EVR" metrics $R --listen 127.0.0.1:0 > "$dir/metrics.out" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q serving "$dir/metrics.out" && break; sleep 0.05; done
port=$(sed -n 's|.*127.0.0.1:\([0-9]*\)/metrics|\1|p' "$dir/metrics.out")
curl -sf "http://127.0.0.1:$port/metrics" > "$dir/scrape" && ok || bad "scrape /metrics"
grep -q '^evring_events_total{type="plan_created",domain="plan"} 10$' "$dir/scrape" && ok || bad "metrics plan_created 10"
grep -q '^evring_events_total{type="tool_retried",domain="tool"} 5$' "$dir/scrape" && ok || bad "metrics tool_retried 5"
grep -q '^evring_events_total{type="budget_warning",domain="budget"} 1$' "$dir/scrape" && ok || bad "metrics budget_warning 1"
expect_eq "metrics emitted by alpha" "10" "$(grep '^evring_producer_emitted_total{.*service="alpha"}' "$dir/scrape" | awk '{s+=$2} END {print s}')"
grep -q '^evring_consumer_lost_total{reason="lapped"} 0$' "$dir/scrape" && ok || bad "metrics lost"
grep -q '^# TYPE evring_consumer_lag gauge$' "$dir/scrape" && ok || bad "metrics TYPE lines"
expect_eq "404" "404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")"
expect_eq "405" "405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")"
expect_exit 1 "port in use" "$EVR" metrics $R --listen 127.0.0.1:$port
grep -q "Address already in use" "$dir/err" && ok || bad "port in use message"
kill $server; wait $server 2>/dev/null; server=
expect_exit 2 "bad --listen" "$EVR" metrics $R --listen nowhere
expect_exit 2 "bad --listen address" "$EVR" metrics $R --listen 300.1.1.1:80
expect_exit 1 "metrics of a missing ring" "$EVR" metrics /$tag-missing --listen 127.0.0.1:0

# stats and top refusals
expect_exit 1 "stats of a missing ring" "$EVR" stats /$tag-missing
expect_exit 2 "stats bad interval" "$EVR" stats $R --interval fast
expect_exit 2 "top without a terminal" "$EVR" top $R
grep -q "needs a terminal" "$dir/err" && ok || bad "top refusal message"
# top in a pseudo-terminal: draws the producers and quits on q
if command -v script >/dev/null; then
  (sleep 1.5; printf q) | timeout 20 script -qfc "$EVR top $R --interval 0.5" /dev/null > "$dir/top.out" 2>&1
  expect_eq "top exits on q" "0" "$?"
  grep -aq "records/s" "$dir/top.out" && grep -aq "plan_created" "$dir/top.out" && ok || bad "top draws its view"
fi
echo "$checks checks, $fails failed"
[ $fails -eq 0 ]
