#!/usr/bin/env bash
# evring bridge against a real nats-server -js on loopback (own port, own store dir, stopped by PID).
# usage: test_bridge.sh CASE EVRING BRIDGE_TOOL NATS_SERVER
#   publish    N records -> exactly N messages (subjects, payloads, unique ids), --json, bad streams
#   restart    SIGKILL the bridge mid-stream and restart it: no duplicates, no gaps but reported laps
#   outage     freeze (SIGSTOP) and restart the server while producers emit: they never block, losses exact
#   roundtrip  ring -> NATS -> ring gives identical records; --into resumes through its durable
#   schemas    the ring's description travels in the stream: a v2 ring read back into v1 and v2 rings
#   cluster    3-node cluster, R3 stream: SIGKILL the stream's leader mid-stream, nothing is lost
set -euo pipefail
case=$1 EVRING=$2 TOOL=$3 NATSD=$4 V2TOOL=${5:-}
source "$(dirname "$0")/lib_bridge.sh"

case_publish() {
  local ring url=$NATS_URL
  ring=$(mkring 2 8192) # big enough to hold all 5000 on one lane
  check "emit" "$($TOOL emit "$ring" 5000)" "emitted=5000 dropped=0"
  out=$($EVRING bridge "$ring" --nats "$url" --exit-when-idle 0.5 2>&1)
  echo "$out"
  expect "$out" "published=5000 acked=5000 duplicates=0"
  expect "$out" "lost=0 "
  check "stream" "$($TOOL stream "$url" EVENTS evring)" \
    "msgs=5000 stream_msgs=5000 bad=0 dup_ids=0 dup_corr=0 max_corr=4999"
  # Again without a cursor: every message is re-sent and JetStream drops all 5000 as duplicates.
  out=$($EVRING bridge "$ring" --nats "$url" --exit-when-idle 0.5 2>&1)
  expect "$out" "published=5000 acked=5000 duplicates=5000"
  check "stream after re-send" "$($TOOL stream "$url" EVENTS evring)" \
    "msgs=5000 stream_msgs=5000 bad=0 dup_ids=0 dup_corr=0 max_corr=4999"
  # SIGTERM: a clean stop with the summary, the cursor saved up to what was acked.
  $EVRING bridge "$ring" --nats "$url" --cursor "$WORK/term.cur" >"$WORK/term.out" 2>&1 &
  local br=$!
  BRIDGE_PIDS+=("$br")
  sleep 1; kill -TERM $br
  wait $br || die "bridge exited $? on SIGTERM"
  expect "$(cat "$WORK/term.out")" "published=5000 acked=5000 duplicates=5000"
  grep -qx 5000 "$WORK/term.cur" || die "cursor not saved at 5000: $(cat "$WORK/term.cur")"
  # --json payloads on another stream and prefix.
  out=$($EVRING bridge "$ring" --nats "$url" --stream JSONEV --subject-prefix evj --json --count 5000 2>&1)
  expect "$out" "acked=5000"
  # Errors: unreachable server, a stream of someone else.
  expect_fail 1 "no NATS server reachable" $EVRING bridge "$ring" --nats nats://127.0.0.1:1 --count 1
  $TOOL mkstream "$url" OTHER 'other.>' "not ours"
  expect_fail 1 "was not made by evring" $EVRING bridge "$ring" --nats "$url" --stream OTHER --subject-prefix other --count 1
  expect_fail 2 "--nats URL is required" $EVRING bridge "$ring"
  # Authentication failure, without echoing the password.
  local aport; aport=$(free_port)
  "$NATSD" -js -a 127.0.0.1 -p "$aport" --user bob --pass secret -sd "$WORK/authstore" >>"$WORK/nats-auth.log" 2>&1 &
  NATS_PIDS+=("$!"); wait_port "$aport"
  expect_fail 1 "authentication failed at nats://***@127.0.0.1:$aport" \
    $EVRING bridge "$ring" --nats "nats://bob:wrong@127.0.0.1:$aport" --count 1
  expect "$($EVRING bridge "$ring" --nats "nats://bob:secret@127.0.0.1:$aport" --count 5000 2>&1)" "acked=5000"
}

case_restart() {
  local ring url=$NATS_URL cur=$WORK/cursor
  ring=$(mkring 1 65536)
  # Part 1: the ring keeps everything; the bridge is killed twice mid-stream.
  $TOOL emit "$ring" 20000 0 10000 >"$WORK/emit1" &
  local em=$!
  for i in 1 2; do
    $EVRING bridge "$ring" --nats "$url" --cursor "$cur" --save-interval 0.1 >"$WORK/b$i" 2>&1 &
    local br=$!
    BRIDGE_PIDS+=("$br")
    sleep 0.6
    kill -KILL $br; wait $br 2>/dev/null || true
  done
  wait $em
  check "emit" "$(cat "$WORK/emit1")" "emitted=20000 dropped=0"
  out=$($EVRING bridge "$ring" --nats "$url" --cursor "$cur" --exit-when-idle 0.5 2>&1); echo "$out"
  expect "$out" "lost=0 "
  check "stream after two SIGKILLs" "$($TOOL stream "$url" EVENTS evring)" \
    "msgs=20000 stream_msgs=20000 bad=0 dup_ids=0 dup_corr=0 max_corr=19999"
  # Part 2: a small ring laps while the bridge is dead; the restart reports exactly what it missed.
  # (A first run starts at the oldest record the ring still holds: nothing before it is "lost".)
  ring=$(mkring 1 1024)
  cur=$WORK/cursor2
  $TOOL emit "$ring" 3000 100000 >/dev/null
  out=$($EVRING bridge "$ring" --nats "$url" --stream SMALL --subject-prefix small --cursor "$cur" --exit-when-idle 0.5 2>&1)
  expect "$out" "acked=1024 duplicates=0 retried=0 nacked=0 lost=0 "
  $TOOL emit "$ring" 5000 103000 >/dev/null # positions 3000..7999; the ring keeps 6976..7999
  out=$($EVRING bridge "$ring" --nats "$url" --stream SMALL --subject-prefix small --cursor "$cur" --exit-when-idle 0.5 2>&1)
  echo "$out"
  expect "$out" "acked=1024 duplicates=0 retried=0 nacked=0 lost=3976 lost_lapped=3976 "
  check "small stream" "$($TOOL stream "$url" SMALL small)" "msgs=2048 stream_msgs=2048 bad=0 dup_ids=0 dup_corr=0 max_corr=107999"
}

case_outage() {
  local ring url=$NATS_URL
  ring=$(mkring 1 4096)
  $EVRING bridge "$ring" --nats "$url" --cursor "$WORK/cur" --ack-timeout 0.5 --exit-when-idle 2 >"$WORK/bridge.out" 2>&1 &
  local br=$! t0=$SECONDS
  BRIDGE_PIDS+=("$br")
  $TOOL emit "$ring" 40000 0 5000 >"$WORK/emit" &
  local em=$!
  sleep 1; kill -STOP "$NATS_PID"; sleep 3; kill -CONT "$NATS_PID"        # frozen server
  sleep 1; stop_nats; sleep 2; start_nats "$NATS_PORT"                    # server down and back
  wait $em
  local took=$((SECONDS - t0))
  check "emit" "$(cat "$WORK/emit")" "emitted=40000 dropped=0"
  [ $took -le 12 ] || die "producers took ${took}s for 8 s of records: they waited for the bridge"
  wait $br || die "bridge failed: $(cat "$WORK/bridge.out")"
  out=$(cat "$WORK/bridge.out"); echo "$out"
  local lost msgs
  lost=$(summary_field "$out" lost)
  res=$($TOOL stream "$url" EVENTS evring); echo "$res"
  msgs=$(summary_field "$res" msgs)
  [ $((msgs + lost)) -eq 40000 ] || die "stream $msgs + reported lost $lost != 40000 emitted"
  expect "$res" "bad=0 dup_ids=0 dup_corr=0"
}

case_roundtrip() {
  local a b url=$NATS_URL
  a=$(mkring 2 4096); b=$(ringname)
  check "emit" "$($TOOL emit "$a" 3000 7)" "emitted=3000 dropped=0"
  expect "$($EVRING bridge "$a" --nats "$url" --exit-when-idle 0.5 2>&1)" "acked=3000"
  out=$($EVRING bridge --from-nats "$url" --into "$b" --lanes 1 --slots 8192 --count 1000 2>&1); echo "$out"
  expect "$out" "received=1000 emitted=1000 dropped=0 skipped=0"
  out=$($EVRING bridge --from-nats "$url" --into "$b" --exit-when-idle 0.5 2>&1); echo "$out"
  expect "$out" "received=2000 emitted=2000 dropped=0 skipped=0"
  check "ringcmp" "$($TOOL ringcmp "$a" "$b")" "a=3000 b=3000 identical=3000"
  expect_fail 1 "does not exist" $EVRING bridge --from-nats "$url" --into "$b" --stream NOPE --count 1
  # JSON payloads cannot be turned back into records: skipped, counted, never emitted.
  expect "$($EVRING bridge "$a" --nats "$url" --stream JSONRT --subject-prefix jrt --json --count 3000 2>&1)" "acked=3000"
  out=$($EVRING bridge --from-nats "$url" --stream JSONRT --subject-prefix jrt --into "$(ringname)" --count 3000 2>&1)
  expect "$out" "received=3000 emitted=0 dropped=0 skipped=3000"
  expect "$out" "not a raw record"
}

# The stream carries the ring's description: a v2 ring (schema_v2_tool: tool_retried + jitter_ms,
# + tool_cancelled) published, then read back by `bridge --into` into a v1 ring and a v2 ring. The
# messages name their schema by hash; the reader fetches that description from EVENTS_SCHEMAS.
case_schemas() {
  local url=$NATS_URL v2 v1 v2b
  v2=$(ringname); v1=$(ringname); v2b=$(ringname)
  "$V2TOOL" create "$v2" || die "v2 create"
  "$EVRING" emit "$v2" plan_created plan_name=p1 >/dev/null || die "v1 emit into the v2 ring"
  "$V2TOOL" emit "$v2" || die "v2 emit"
  expect "$($EVRING bridge "$v2" --nats "$url" --stream V2EV --subject-prefix v2 --exit-when-idle 0.5 2>&1)" "acked=3"
  check "description stored" "$($TOOL schema "$url" V2EV_SCHEMAS)" "schema=agent-platform v2 types=39"
  # a v1 ring: plan_created fits, the v2 layouts do not (named, counted, never emitted)
  "$EVRING" create "$v1" --lanes 1 --slots 64 >/dev/null
  out=$($EVRING bridge --from-nats "$url" --stream V2EV --subject-prefix v2 --into "$v1" --exit-when-idle 0.5 2>&1); echo "$out"
  expect "$out" "received=3 emitted=1 dropped=0 skipped=2"
  expect "$out" "type tool_retried has 4 fields in schema v2, 3 in the ring's v1"
  expect "$out" "type tool_cancelled is not in the ring's schema agent-platform v1"
  check "v1 ring" "$($EVRING tail "$v1" --json 2>/dev/null | jq -c '[.type, .plan_name]')" '["plan_created","p1"]'
  # a v2 ring takes all three, fields and all
  "$V2TOOL" create "$v2b"
  out=$($EVRING bridge --from-nats "$url" --stream V2EV --subject-prefix v2 --into "$v2b" --exit-when-idle 0.5 2>&1)
  expect "$out" "received=3 emitted=3 dropped=0 skipped=0"
  check "v2 ring" "$($EVRING tail "$v2b" --json 2>/dev/null | jq -c '[.type, .jitter_ms]' | tr '\n' ' ')" \
    '["plan_created",null] ["tool_retried",75] ["tool_cancelled",null] '
  # a description stored first under a ring's hash stays: a forgery there makes publish refuse,
  # rather than send records readers would decode with it
  local v1c hash; v1c=$(mkring 1 64)
  hash=$($EVRING info "$v1c" --json | jq -r .schema_hash)
  $TOOL pub "$url" "v2-schema.${hash#0x}" 0x0
  "$EVRING" emit "$v1c" plan_created plan_name=p2 >/dev/null
  expect_fail 1 "holds another description under this ring's schema hash $hash" \
    $EVRING bridge "$v1c" --nats "$url" --stream V2EV --subject-prefix v2 --count 1
  # a message naming a schema nobody stored
  $TOOL pub "$url" v2.plan.plan_created 0x00000000deadbeef
  out=$($EVRING bridge --from-nats "$url" --stream V2EV --subject-prefix v2 --into "$v2b" --exit-when-idle 0.5 2>&1)
  expect "$out" "received=1 emitted=0 dropped=0 skipped=1"
  expect "$out" "no description of schema 0x00000000deadbeef"
}

case_cluster() {
  local ring urls victim i survivor
  start_cluster
  urls=$CLUSTER_URLS
  ring=$(mkring 1 65536)
  # Until the cluster has elected its meta leader, creating the stream fails: retry for 15 s.
  for i in $(seq 60); do
    $EVRING bridge "$ring" --nats "$urls" --replicas 3 --exit-when-idle 0.1 >/dev/null 2>&1 && break
    sleep 0.25
  done
  [ "$i" -lt 60 ] || die "cluster never accepted the stream"
  victim=$($TOOL leader "$urls" EVENTS)
  $EVRING bridge "$ring" --nats "$urls" --ack-timeout 0.5 --exit-when-idle 2 >"$WORK/bridge.out" 2>&1 &
  local br=$!
  BRIDGE_PIDS+=("$br")
  $TOOL emit "$ring" 20000 0 5000 >"$WORK/emit" &
  local em=$!
  sleep 1.5
  kill -KILL "${CLUSTER_PID[${victim#n}]}"
  wait $em
  check "emit" "$(cat "$WORK/emit")" "emitted=20000 dropped=0"
  wait $br || die "bridge failed: $(cat "$WORK/bridge.out")"
  out=$(cat "$WORK/bridge.out"); echo "killed leader $victim; $out"
  expect "$out" "lost=0 "
  for i in 1 2 3; do [ "n$i" != "$victim" ] && survivor=nats://127.0.0.1:${CLUSTER_PORT[i]}; done
  check "stream on a survivor" "$($TOOL stream "$survivor" EVENTS evring)" \
    "msgs=20000 stream_msgs=20000 bad=0 dup_ids=0 dup_corr=0 max_corr=19999"
}

[ "$case" = cluster ] || start_nats
"case_$case"
echo "PASS bridge $case"
