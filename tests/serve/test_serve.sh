#!/usr/bin/env bash
# evring serve end to end on loopback, with curl: filters, heartbeats, resume by Last-Event-ID
# across a server restart (the transcript is kept in ARTIFACTS/resume.txt), exact loss notices for a
# client resuming from an older cursor and for a client that stopped reading while the server was
# overtaking it, /metrics and /api/stats, and every refusal with its status and reason.
# Usage: test_serve.sh PATH/TO/evring PATH/TO/evr_fill_ring ARTIFACTS_DIR
set -uo pipefail
EVR=$1 FILL=$2 ART=$3
tag=evrt-serve-$$
dir=$(mktemp -d /tmp/$tag.XXXX)
mkdir -p "$ART"
server= reader=
cleanup() {
  if [ -n "$reader" ]; then kill -CONT "$reader" 2>/dev/null; kill "$reader" 2>/dev/null; wait "$reader" 2>/dev/null; fi
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  for r in /dev/shm/$tag-*; do [ -e "$r" ] && "$EVR" unlink --force "/${r#/dev/shm/}" >/dev/null 2>&1; done
  rm -rf "$dir"
}
trap cleanup EXIT
source "$(dirname "$0")/../lib/checks.sh"

source "$(dirname "$0")/../lib/server.sh"
# wait_published N: until the server read N ring positions (records and losses; bounded: 10 s)
wait_published() {
  for _ in $(seq 200); do
    [ "$(curl -s --max-time 2 "http://127.0.0.1:$port/api/stats" | jq .positions)" -ge "$1" ] 2>/dev/null && return 0
    sleep 0.05
  done
  bad "the server did not read $1 positions of the ring"
}
# frames QUERY N [curl args]: the stream's first N events (a heartbeat with N=0), whole frames
frames() {
  local q=$1 n=$2; shift 2
  # read by the shell, line by line: awk (mawk) would wait for a whole block of a slow stream
  timeout 20 curl -sN "$@" "http://127.0.0.1:$port/events$q" | {
    local e=0 l
    while IFS= read -r l; do
      printf '%s\n' "$l"
      case $l in
      "event: "*) e=$((e + 1)) ;;
      ": heartbeat") [ "$n" -eq 0 ] && break ;;
      "") [ "$n" -gt 0 ] && [ "$e" -ge "$n" ] && break ;;
      esac
    done
  }
}
names() { sed -n 's/^event: //p'; }
status() { curl -s -o "$dir/body" -w '%{http_code}' "$@"; }

# --- ring A: alpha (plan 1) 10 plan_created, beta (plan 2) 5 tool_retried -----------------------
A=/$tag-a
"$EVR" create $A --lanes 2 --slots 1024 >/dev/null
start_server serve $A --heartbeat 0.3
"$FILL" $A alpha:plan_created:10 beta:tool_retried:5 || bad "fill ring A"
wait_published 15
frames '?since=-1h' 15 >"$dir/all"
expect_eq "since: every record, in order" "$(printf 'plan_created\n%.0s' $(seq 10); printf 'tool_retried\n%.0s' $(seq 5))" "$(names <"$dir/all")"
check "each record: id, event, data with the record's JSON" awk '
  /^id: / {id = 1} /^event: / {ev = $2} /^data: / {d = substr($0, 7)}
  /^$/ && ev != "" {if (!id || index(d, "\"type\":\"" ev "\"") == 0) bad = 1; id = 0; ev = ""}
  END {exit bad}' "$dir/all"
expect_eq "type filter" "$(printf 'tool_retried\n%.0s' $(seq 5))" "$(frames '?since=-1h&type=tool_retried' 5 | names)"
expect_eq "domain filter" 10 "$(frames '?since=-1h&domain=plan' 10 | names | grep -c plan_created)"
expect_eq "plan filter" "$(printf 'tool_retried\n%.0s' $(seq 5))" "$(frames '?since=-1h&plan=2' 5 | names)"
expect_eq "type list" 15 "$(frames '?since=-1h&type=tool_retried,plan_created' 15 | names | wc -l)"
check "heartbeat comments on a quiet stream" grep -q '^: heartbeat$' <(frames '?type=budget_warning' 0)
check "no data before a heartbeat on a stream from now" [ -z "$(frames '' 0 | names)" ]
curl -s "http://127.0.0.1:$port/metrics" >"$dir/metrics"
check "/metrics: the exposition of evring metrics" grep -q "^evring_events_total{ring=\"$A\",type=\"plan_created\",domain=\"plan\"} 10$" "$dir/metrics"
check "/metrics: producers" grep -q "^evring_producer_emitted_total{ring=\"$A\",producer=\"1\",service=\"beta\"} 5$" "$dir/metrics"
check "/api/stats is JSON with the domains" jq -e '.domains.plan == 10 and .domains.tool == 5 and (.producers | length) == 2' \
  <(curl -s "http://127.0.0.1:$port/api/stats") >/dev/null
curl -s "http://127.0.0.1:$port/" >"$dir/page"
check "/ is the live page" grep -q '<canvas' "$dir/page"
check "the page loads nothing from elsewhere (works offline)" bash -c "! grep -Eq 'src=|href=|url\(|@import|https?:' '$dir/page'"

# --- bad requests: status and one line of reason ------------------------------------------------
expect_eq "unknown type: 400" 400 "$(status "http://127.0.0.1:$port/events?type=nope")"
check "  says which" grep -q "unknown event type 'nope'" "$dir/body"
expect_eq "bad plan: 400" 400 "$(status "http://127.0.0.1:$port/events?plan=x")"
expect_eq "unknown parameter: 400" 400 "$(status "http://127.0.0.1:$port/events?color=red")"
check "  says which" grep -q "unknown parameter 'color'" "$dir/body"
expect_eq "bad Last-Event-ID: 400" 400 "$(status -H 'Last-Event-ID: zz' "http://127.0.0.1:$port/events")"
expect_eq "another ring's cursor: 400" 400 "$(status -H 'Last-Event-ID: 1.0.0' "http://127.0.0.1:$port/events")"
check "  says so" grep -q "another ring" "$dir/body"
expect_eq "a cursor ahead of the ring: 400" 400 "$(status -H "Last-Event-ID: $(sed -n 's/^id: \([0-9a-f]*\)\..*/\1/p' "$dir/all" | head -1).ffff.0" "http://127.0.0.1:$port/events")"
expect_eq "unknown path: 404" 404 "$(status "http://127.0.0.1:$port/nothing")"
expect_eq "POST: 405" 405 "$(status -X POST "http://127.0.0.1:$port/events")"
check "  with Allow" grep -qi '^Allow: GET, HEAD' <(curl -s -D - -o /dev/null -X DELETE "http://127.0.0.1:$port/")
head -c 40000 /dev/zero | tr '\0' a >"$dir/big"
code=$(status -H "X-Big: $(cat "$dir/big")" "http://127.0.0.1:$port/metrics")
check "a 40 KB request head is refused ($code)" [ "$code" -ge 400 ] && [ "$code" -lt 500 ]

# --- resume by Last-Event-ID across a server restart -------------------------------------------
frames '?since=-1h' 7 >"$dir/first"
last=$(sed -n 's/^id: //p' "$dir/first" | tail -1)
stop_server || bad "server exits 0 on SIGTERM"
"$FILL" $A gamma:budget_warning:5 || bad "fill ring A again"
start_server serve $A --heartbeat 0.3
wait_published 20
frames '' 13 -H "Last-Event-ID: $last" >"$dir/second"
frames '?since=-1h' 20 >"$dir/whole"
# The second server reads the lanes in another interleaving: compare the records, not the ids.
expect_eq "resumed: no duplicate, no gap" "$(grep '^data: ' "$dir/whole" | sort)" \
  "$(cat "$dir/first" "$dir/second" | grep '^data: ' | sort)"
expect_eq "resumed: the records after the cursor" "$({ printf 'plan_created\n%.0s' $(seq 3); printf 'tool_retried\n%.0s' $(seq 5); printf 'budget_warning\n%.0s' $(seq 5); } | sort)" "$(names <"$dir/second" | sort)"
{
  echo "# the first server: since=-1h, the first 7 events"
  grep -E '^(id|event|data):' "$dir/first" | cut -c1-64
  echo "# server restarted; 5 budget_warning emitted meanwhile; reconnect with Last-Event-ID: $last"
  grep -E '^(id|event|data):' "$dir/second" | cut -c1-64
} >"$ART/resume.txt"
stop_server

# --- a client resuming from a cursor older than the server holds: exact loss notice -------------
B=/$tag-b
"$EVR" create $B --lanes 1 --slots 1024 >/dev/null
"$FILL" $B alpha:plan_created:300 || bad "fill ring B"
start_server serve $B --buffer 64 --heartbeat 0.3
wait_published 300
ringid=$(frames '?since=-1h' 1 | sed -n 's/^id: \([0-9a-f]*\)\..*/\1/p' | head -1)
frames '' 65 -H "Last-Event-ID: $ringid.0" >"$dir/behind"
expect_eq "from cursor 0: one loss notice, 236 positions behind, then 64 records" \
  "lost {\"reason\":\"behind\",\"count\":236} 64" \
  "$(names <"$dir/behind" | head -1) $(grep -A1 '^event: lost' "$dir/behind" | sed -n 's/^data: //p') $(names <"$dir/behind" | grep -c plan_created)"
expect_eq "since: the same notice" 236 "$(frames '?since=-1h' 1 | sed -n 's/^data: {"reason":"behind","count":\([0-9]*\)}/\1/p')"
stop_server

# --- a client that stops reading while the server overtakes it: notice, then it goes on --------
C=/$tag-c
"$EVR" create $C --lanes 2 --slots 65536 >/dev/null
start_server serve $C --buffer 256 --heartbeat 0.3
curl -sN "http://127.0.0.1:$port/events" >"$dir/stalled" &
reader=$!
for _ in $(seq 200); do grep -q '^: evring serve' "$dir/stalled" && break; sleep 0.05; done
kill -STOP $reader
"$FILL" $C alpha:plan_created:50000 beta:tool_retried:30000 || bad "fill ring C"
wait_published 80000
kill -CONT $reader
counted() { awk '/^event: lost/ {l = 1; next} l && /^data: / {match($0, /"count":[0-9]+/); n += substr($0, RSTART + 8, RLENGTH - 8); l = 0} /^event: (plan_created|tool_retried)/ {n++} END {print n + 0}' "$dir/stalled"; }
for _ in $(seq 400); do [ "$(counted)" -ge 80000 ] && break; sleep 0.05; done
kill $reader 2>/dev/null; wait $reader 2>/dev/null; reader=
expect_eq "records + lost positions = every position" 80000 "$(counted)"
check "the stalled client was told it fell behind" grep -q '"reason":"behind"' "$dir/stalled"
check "and got records after the notice" awk '/"reason":"behind"/ {seen = 1} seen && /^event: (plan_created|tool_retried)/ {ok = 1} END {exit !ok}' "$dir/stalled"
stop_server

# --- a token for /events ------------------------------------------------------------------------
echo s3cret >"$dir/token"
start_server serve $A --token-file "$dir/token" --heartbeat 0.3
expect_eq "no token: 401" 401 "$(status "http://127.0.0.1:$port/events")"
expect_eq "wrong token: 401" 401 "$(status -H 'Authorization: Bearer nope' "http://127.0.0.1:$port/events")"
expect_eq "bearer token: the stream" 5 "$(frames '?since=-1h&type=budget_warning' 5 -H 'Authorization: Bearer s3cret' | names | wc -l)"
expect_eq "?token=: the stream" 5 "$(frames '?since=-1h&type=budget_warning&token=s3cret' 5 | names | wc -l)"
expect_eq "/metrics needs no token" 200 "$(status "http://127.0.0.1:$port/metrics")"
stop_server

# --- --max-clients: one stream more is a 503 with the reason ------------------------------------
start_server serve $A --max-clients 1 --heartbeat 0.3
curl -sN "http://127.0.0.1:$port/events" >"$dir/one" &
reader=$!
for _ in $(seq 200); do grep -q '^: evring serve' "$dir/one" && break; sleep 0.05; done
expect_eq "a second stream: 503" 503 "$(status "http://127.0.0.1:$port/events")"
check "  says why" grep -q 'too many event streams (--max-clients 1)' "$dir/body"
expect_eq "/metrics still answers" 200 "$(status "http://127.0.0.1:$port/metrics")"
kill $reader; wait $reader 2>/dev/null; reader=
stop_server

# --- usage and runtime errors -------------------------------------------------------------------
"$EVR" serve $A --listen 300.1.1.1:80 >/dev/null 2>&1; expect_eq "bad address: exit 2" 2 $?
"$EVR" serve $A --heartbeat x >/dev/null 2>&1; expect_eq "bad heartbeat: exit 2" 2 $?
"$EVR" serve /$tag-none --listen 127.0.0.1:0 >/dev/null 2>&1; expect_eq "no such ring: exit 1" 1 $?
"$EVR" serve $A --token-file "$dir/missing" >/dev/null 2>&1; expect_eq "missing token file: exit 1" 1 $?

finish
