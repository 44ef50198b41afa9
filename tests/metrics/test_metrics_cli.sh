#!/usr/bin/env bash
# evring stats, metrics and top end to end on rings with known content: exact counts in stats
# (JSON parsed with jq) and in the Prometheus exposition (scraped with curl on loopback), counters
# that advance between scrapes, exact losses of a stalled scraper, a well-formed exposition, a
# server that survives clients resetting their connection, live and killed producers (top draws
# them in a pseudo-terminal), and every refusal with its exit code.
# Usage: test_metrics_cli.sh PATH/TO/evring PATH/TO/evr_rude_client PATH/TO/evr_fill_ring PATH/TO/evring-sim
set -uo pipefail
EVR=$1 RUDE=$2 FILL=$3 SIM=$4
tag=evrt-metrics-$$
dir=$(mktemp -d /tmp/$tag.XXXX)
server= holder=
cleanup() {
  if [ -n "$holder" ]; then kill -KILL "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; fi
  if [ -n "$server" ]; then kill -CONT "$server" 2>/dev/null; kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  for r in /dev/shm/$tag-*; do [ -e "$r" ] && "$EVR" unlink --force "/${r#/dev/shm/}" >/dev/null 2>&1; done
  rm -rf "$dir"
}
trap cleanup EXIT
source "$(dirname "$0")/../lib/checks.sh"
source "$(dirname "$0")/../lib/server.sh"
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$port/metrics"; }
# value of one exact series, named without its ring label (checked on its own below)
sample() { awk -v n="$1" '{ sub(/ring="[^"]*",?/, "", $1); sub(/\{\}/, "", $1) } $1 == n {print $2}' "$2"; }

# --- ring A: producer 0 (alpha) emits 10 plan_created, producer 1 (beta) 5 tool_retried ---------
A=/$tag-a
"$EVR" create $A --lanes 2 --slots 256 >/dev/null # room for every record of this test: nothing lapped
start_server metrics $A # metrics counts from the latest record: the server starts before the records
"$FILL" $A alpha:plan_created:10 beta:tool_retried:5 || bad "fill ring A"

# stats: one summary of what the ring holds
"$EVR" stats $A --json >"$dir/a.json"
check "stats --json is one valid JSON object" jq -e 'type == "object"' "$dir/a.json" >/dev/null
expect_eq "stats totals" '{"records":15,"invalid":0,"lost_lapped":0,"lost_abandoned":0,"lag":0}' \
  "$(jq -c '{records,invalid,lost_lapped,lost_abandoned,lag}' "$dir/a.json")"
expect_eq "stats per type" '{"plan_created":10,"tool_retried":5}' "$(jq -c '.types | map_values(.count)' "$dir/a.json")"
expect_eq "stats per domain" '{"plan":10,"tool":5}' "$(jq -c .domains "$dir/a.json")"
expect_eq "stats per producer (records seen, the ring's emitted/dropped, gone)" \
  '[{"id":0,"service":"alpha","alive":false,"records":10,"emitted":10,"dropped":0},{"id":1,"service":"beta","alive":false,"records":5,"emitted":5,"dropped":0}]' \
  "$(jq -c '[.producers[] | del(.pid, .rate)]' "$dir/a.json")"
"$EVR" stats $A >"$dir/a.txt"
check "stats text: totals line" grep -q '^records 15, lost 0 lapped + 0 abandoned, 0 invalid, lag 0$' "$dir/a.txt"
check "stats text: plan_created 10" grep -Eq '^plan_created +10$' "$dir/a.txt"
check "stats text: tool domain 5" grep -Eq '^tool +5$' "$dir/a.txt"
check "stats text: producer 0" grep -Eq '^0 +alpha +[0-9]+ +no +10 +10 +0$' "$dir/a.txt"
check "stats text: producer 1" grep -Eq '^1 +beta +[0-9]+ +no +5 +5 +0$' "$dir/a.txt"
expect_eq "stats --from latest sees nothing old" 0 "$("$EVR" stats $A --from latest --json | jq .records)"
# follow mode: one report of a 1 s interval, rates per second. A fresh ring read --from oldest, so
# the 50 records count wherever the filler's start falls relative to ours.
D=/$tag-d
"$EVR" create $D --lanes 2 --slots 256 >/dev/null
( sleep 0.3; "$FILL" $D gamma:budget_warning:50 ) &
filler=$!
"$EVR" stats $D --interval 1 --reports 1 --from oldest --json >"$dir/interval.json"
wait $filler
expect_eq "interval: only the new records" '{"records":50,"types":["budget_warning"],"gamma":50}' \
  "$(jq -c '{records, types: (.types | keys), gamma: (.producers[] | select(.service == "gamma") | .records)}' "$dir/interval.json")"
check "interval: about 50/s per type, domain, producer and in total" jq -e '
  def about50: . > 40 and . <= 50.5;
  (.types.budget_warning.rate | about50) and (.domain_rates.budget | about50) and (.rate | about50)
  and (.producers[] | select(.service == "gamma") | .rate | about50)' "$dir/interval.json" >/dev/null
# follow mode: --reports N reports, each valid JSON; SIGINT ends it cleanly
"$EVR" stats $A --interval 0.2 --reports 3 --json >"$dir/follow.json"
expect_eq "stats --interval 0.2 --reports 3 prints 3 reports" 3 "$(jq -s length "$dir/follow.json")"
check "each report covers about 0.2 s" jq -se 'all(.[]; .interval_s >= 0.19 and .interval_s < 1.5)' "$dir/follow.json" >/dev/null
"$EVR" stats $A --interval 0.2 >"$dir/follow.txt" &
follower=$!
for _ in $(seq 100); do [ -s "$dir/follow.txt" ] && break; sleep 0.05; done # a report: handlers are in
kill -INT $follower; wait $follower
expect_eq "stats --interval stops on SIGINT with 0" 0 "$?"

# metrics: exact counters, advancing between scrapes
scrape >"$dir/s1" && ok || bad "first scrape"
expect_eq "metrics plan_created" 10 "$(sample 'evring_events_total{type="plan_created",domain="plan"}' "$dir/s1")"
expect_eq "metrics tool_retried" 5 "$(sample 'evring_events_total{type="tool_retried",domain="tool"}' "$dir/s1")"
expect_eq "one series per event type" 38 "$(grep -c '^evring_events_total{' "$dir/s1")"
expect_eq "emitted by producer 0" 10 "$(sample 'evring_producer_emitted_total{producer="0",service="alpha"}' "$dir/s1")"
expect_eq "emitted by producer 1" 5 "$(sample 'evring_producer_emitted_total{producer="1",service="beta"}' "$dir/s1")"
expect_eq "dropped by producer 1" 0 "$(sample 'evring_producer_dropped_total{producer="1",service="beta"}' "$dir/s1")"
expect_eq "producer 1 is gone" 0 "$(sample 'evring_producer_alive{producer="1",service="beta"}' "$dir/s1")"
expect_eq "one emitted series per producer" 2 "$(grep -c '^evring_producer_emitted_total{' "$dir/s1")"
expect_eq "lost lapped" 0 "$(sample 'evring_consumer_lost_total{reason="lapped"}' "$dir/s1")"
expect_eq "lost abandoned" 0 "$(sample 'evring_consumer_lost_total{reason="abandoned"}' "$dir/s1")"
expect_eq "lag" 0 "$(sample evring_consumer_lag "$dir/s1")"
expect_eq "lane totals sum to the records" 15 "$(grep '^evring_lane_claimed_total{' "$dir/s1" | awk '{s+=$2} END {print s}')"
expect_eq "every sample has the ring label" "0" "$(grep -v '^#' "$dir/s1" | grep -vc "{ring=\"$A\"")"
# exposition format 0.0.4: comments are HELP/TYPE, samples are `name{labels} value`, every sample's
# family has a TYPE line before it, families are contiguous, and no series repeats
awk '
  /^# HELP [a-z_]+ / { next }
  /^# TYPE [a-z_]+ (counter|gauge)$/ { if ($3 in typed) { print "family typed twice: " $3; bad = 1 } typed[$3] = 1; cur = $3; next }
  /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+$/ {
    name = $1; sub(/\{.*/, "", name)
    if (name != cur) { print "sample outside its family: " $0; bad = 1 }
    if ($1 in seen) { print "series repeated: " $1; bad = 1 }
    seen[$1] = 1; next }
  { print "malformed line: " $0; bad = 1 }
  END { exit bad }' "$dir/s1" && ok || bad "exposition is well-formed"
headers=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/metrics")
check "Content-Type is the 0.0.4 text format" grep -qi '^Content-Type: text/plain; version=0.0.4' <<<"$headers"
"$EVR" emit --service alpha $A plan_created plan_name=late
"$EVR" emit --service delta $A budget_warning spent_micros=8 limit_micros=10 threshold_pct=80 budget=b
sleep 0.3 # the server consumes between requests: the counts are there without a restart
scrape >"$dir/s2" && ok || bad "second scrape"
expect_eq "plan_created advanced" 11 "$(sample 'evring_events_total{type="plan_created",domain="plan"}' "$dir/s2")"
expect_eq "budget_warning arrived" 1 "$(sample 'evring_events_total{type="budget_warning",domain="budget"}' "$dir/s2")"
expect_eq "emitted by delta" 1 "$(grep '^evring_producer_emitted_total{.*service="delta"}' "$dir/s2" | awk '{s+=$2} END {print s}')"
len=$(scrape | wc -c)
expect_eq "HEAD announces the body length" "$len" \
  "$(curl -s -I "http://127.0.0.1:$port/metrics" | tr -d '\r' | sed -n 's/^Content-Length: //Ip')"
expect_eq "a query string is still /metrics" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics?x=1")"
expect_eq "404 elsewhere" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")"
expect_eq "405 for POST" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")"
check "405 names the allowed methods" grep -qi '^Allow: GET, HEAD' <<<"$(curl -s -D - -o /dev/null -X PUT "http://127.0.0.1:$port/metrics")"
expect_eq "405 for DELETE" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$port/metrics")"
exec 3<>/dev/tcp/127.0.0.1/$port && printf 'nonsense\r\n\r\n' >&3 && status=$(head -c 12 <&3); exec 3<&-
expect_eq "400 for a request line that is not one" "HTTP/1.1 400" "$status"
# a live producer: alive in stats, metrics and top; once its process is killed, no longer alive
"$FILL" --hold $A epsilon:plan_created:1 >"$dir/hold.out" &
holder=$!
for _ in $(seq 100); do grep -q ready "$dir/hold.out" && break; sleep 0.05; done
expect_eq "stats: the holder is alive" true "$("$EVR" stats $A --json | jq '.producers[] | select(.service == "epsilon") | .alive')"
expect_eq "metrics: the holder is alive" 1 "$(scrape | awk '/^evring_producer_alive\{.*service="epsilon"\}/ {print $2}')"
(sleep 1.2; printf q) | TERM=xterm timeout 20 script -qefc "$EVR top $A --interval 0.3" /dev/null >"$dir/top.out" 2>&1
expect_eq "top exits 0 on q" 0 "$?"
check "top draws the totals line" grep -aq 'records/s' "$dir/top.out"
check "top lists event types" grep -aq 'plan_created' "$dir/top.out"
check "top lists the live producer" grep -aq 'epsilon' "$dir/top.out"
kill -KILL $holder; wait $holder 2>/dev/null; holder=
expect_eq "metrics: a killed producer is not alive" 0 "$(scrape | awk '/^evring_producer_alive\{.*service="epsilon"\}/ {print $2}')"
expect_eq "stats: a killed producer is not alive" false "$("$EVR" stats $A --json | jq '.producers[] | select(.service == "epsilon") | .alive')"
# a client dripping its request a byte a second holds the single-threaded server 2 s at most
( exec 3<>/dev/tcp/127.0.0.1/$port; for _ in 1 2 3 4 5 6; do printf G >&3 || break; sleep 1; done ) 2>/dev/null &
slow=$!
sleep 0.2
curl -sf --max-time 4 "http://127.0.0.1:$port/metrics" >/dev/null && ok || bad "scrape behind a slow client"
kill $slow 2>/dev/null; wait $slow 2>/dev/null
"$RUDE" "$port" 20
"$RUDE" "$port" 5 mute
sleep 0.2
check "the server survives clients that reset" kill -0 "$server"
scrape >/dev/null && ok || bad "scrape after resets"
expect_exit 1 "a second server on the same port" "$EVR" metrics $A --listen 127.0.0.1:$port
check "port in use: the message says so" grep -q "cannot listen on 127.0.0.1:$port: Address already in use" "$dir/err"
stop_server
expect_eq "SIGTERM stops the server with 0" 0 "$?"
"$EVR" metrics $A --listen 127.0.0.1:0 --once >"$dir/once.out" 2>&1 &
once=$!
for _ in $(seq 100); do grep -q serving "$dir/once.out" && break; sleep 0.05; done
oport=$(sed -n 's|.*127.0.0.1:\([0-9]*\)/metrics|\1|p' "$dir/once.out")
curl -s -o /dev/null "http://127.0.0.1:$oport/nope" # not a scrape: the server stays
curl -sf "http://127.0.0.1:$oport/metrics" >/dev/null && ok || bad "--once scrape"
wait $once
expect_eq "--once exits 0 after one scrape" 0 "$?"

# --- ring B: a scraper stopped while 40 records go through 16 slots loses exactly 24 -------------
B=/$tag-b
"$EVR" create $B --lanes 1 --slots 16 >/dev/null
start_server metrics $B
kill -STOP "$server"
"$FILL" $B alpha:plan_created:40 || bad "fill ring B"
kill -CONT "$server"
scrape >"$dir/b" && ok || bad "scrape of the lapped ring"
expect_eq "lapped: records" 16 "$(sample 'evring_events_total{type="plan_created",domain="plan"}' "$dir/b")"
expect_eq "lapped: lost" 24 "$(sample 'evring_consumer_lost_total{reason="lapped"}' "$dir/b")"
expect_eq "lapped: lane total" 40 "$(sample 'evring_lane_claimed_total{lane="0"}' "$dir/b")"
stop_server
expect_eq "stats of a lapped ring reads what it still holds" '{"records":16,"lost_lapped":0}' \
  "$("$EVR" stats $B --json | jq -c '{records,lost_lapped}')"

# --- ring C: 20000 records/s for 1 s through a 1024-slot lane (51 ms of slack): a server that
# sleeps on the ring keeps up and loses nothing (one that slept 100 ms on its socket lost ~half)
C=/$tag-c
"$EVR" create $C --lanes 1 --slots 1024 >/dev/null
start_server metrics $C
"$SIM" --ring $C --procs 1 --rate 20000 --duration 1 --quiet >/dev/null || bad "evring-sim on ring C"
scrape >"$dir/c" && ok || bad "scrape of ring C"
expect_eq "burst: nothing lapped" 0 "$(sample 'evring_consumer_lost_total{reason="lapped"}' "$dir/c")"
expect_eq "burst: every record counted" "$(sample 'evring_lane_claimed_total{lane="0"}' "$dir/c")" \
  "$(awk '/^evring_events_total\{/ {s += $2} END {print s}' "$dir/c")"
stop_server

# --- a restarted server counts from 0 (a counter reset), never the retained records again ------
E=/$tag-e
"$EVR" create $E --lanes 1 --slots 64 >/dev/null
"$FILL" $E alpha:plan_created:10 || bad "fill ring E"
start_server metrics $E
scrape >"$dir/e1" && ok || bad "scrape of ring E"
expect_eq "a new server does not count retained records" 0 "$(sample 'evring_events_total{type="plan_created",domain="plan"}' "$dir/e1")"
expect_eq "the ring's own total does" 10 "$(sample 'evring_lane_claimed_total{lane="0"}' "$dir/e1")"
"$FILL" $E alpha:plan_created:3 || bad "refill ring E"
expect_eq "new records count" 3 "$(scrape | sample 'evring_events_total{type="plan_created",domain="plan"}' /dev/stdin)"
stop_server
start_server metrics $E
expect_eq "after a restart: 0 again, not 13" 0 "$(scrape | sample 'evring_events_total{type="plan_created",domain="plan"}' /dev/stdin)"
stop_server
# --listen forms: a name, IPv6 in brackets, and :PORT
for spec in localhost:0 '[::1]:0' :0; do
  "$EVR" metrics $E --listen "$spec" >"$dir/listen.out" 2>&1 &
  server=$!
  for _ in $(seq 100); do grep -q serving "$dir/listen.out" && break; sleep 0.05; done
  url=$(sed -n 's|.*serving ||p' "$dir/listen.out")
  if [ "$spec" = :0 ]; then url=${url/0.0.0.0/127.0.0.1}; fi
  curl -sgf --max-time 5 "$url" >"$dir/listen.scrape"
  grep -q '^evring_events_total{' "$dir/listen.scrape" && ok || bad "--listen $spec: scrape $url"
  stop_server
done

# --- refusals -----------------------------------------------------------------------------------
expect_exit 1 "stats of a missing ring" "$EVR" stats /$tag-missing
check "missing ring: one line naming the command" grep -q '^evring stats: ' "$dir/err"
expect_exit 2 "stats with an unknown flag" "$EVR" stats $A --bogus
expect_exit 2 "stats without a ring" "$EVR" stats
expect_exit 2 "stats --interval fast" "$EVR" stats $A --interval fast
expect_exit 2 "stats --reports 0" "$EVR" stats $A --interval 1 --reports 0
expect_exit 2 "stats --from middle" "$EVR" stats $A --from middle
expect_exit 1 "metrics of a missing ring" "$EVR" metrics /$tag-missing --listen 127.0.0.1:0
expect_exit 2 "metrics --listen nowhere" "$EVR" metrics $A --listen nowhere
expect_exit 2 "metrics --listen no-such-host.invalid:80" "$EVR" metrics $A --listen no-such-host.invalid:80
expect_exit 2 "metrics --listen 300.1.1.1:80" "$EVR" metrics $A --listen 300.1.1.1:80
expect_exit 2 "metrics --listen 127.0.0.1:70000" "$EVR" metrics $A --listen 127.0.0.1:70000
expect_exit 2 "metrics with an unknown flag" "$EVR" metrics $A --bogus
expect_exit 2 "top --interval 0.01" "$EVR" top $A --interval 0.01
expect_exit 2 "top without a terminal" "$EVR" top $A
check "top without a terminal: says so" grep -q 'needs a terminal' "$dir/err"
expect_exit 1 "top of a missing ring (in a terminal)" env TERM=xterm script -qec "$EVR top /$tag-missing" /dev/null
expect_exit 1 "top with an unknown TERM" env TERM=no-such-term script -qec "$EVR top $A" /dev/null
check "unknown TERM: says so" grep -aq "cannot drive terminal type 'no-such-term'" "$dir/out"

finish
