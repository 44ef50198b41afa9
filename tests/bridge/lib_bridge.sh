# Shared by the bridge test scripts: a scratch dir, rings, nats-server processes, assertions.
# Everything started here is stopped by PID and every ring unlinked on exit, pass or fail.
WORK=$(mktemp -d /tmp/evrt-bridge.XXXXXX)
NATS_PIDS=() BRIDGE_PIDS=() # killed on exit
cleanup() {
  set +e
  exec 2>/dev/null # no "Killed" job notices
  for p in "${NATS_PIDS[@]}" "${BRIDGE_PIDS[@]}"; do kill -CONT "$p"; kill -KILL "$p"; done 2>/dev/null
  for f in /dev/shm/evrt-bridge-$$-*; do
    [[ -e "$f" && "$f" != *"~"* ]] && "$EVRING" unlink "/${f#/dev/shm/}" >/dev/null 2>&1
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
# Ring names are /evrt-bridge-<pid>-<n> (tests/install/shm_cleanup.sh knows the pattern); the counter
# lives in a file because rings are named inside $(...) subshells.
ringname() {
  local n=$(( $(cat "$WORK/ring_n" 2>/dev/null || echo 0) + 1 ))
  echo $n >"$WORK/ring_n"
  echo "/evrt-bridge-$$-$n"
}
mkring() { # lanes slots
  local r; r=$(ringname)
  "$EVRING" create "$r" --lanes "$1" --slots "$2" >/dev/null
  echo "$r"
}
# A port nobody listens on (bash's /dev/tcp connect fails).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }
  done
}
wait_port() { # port
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done
  die "nats-server on port $1 did not start"
}
start_nats() { # [port]: one standalone JetStream server; the store dir survives restarts
  NATS_PORT=${1:-$(free_port)}
  "$NATSD" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/store" >>"$WORK/nats.log" 2>&1 &
  NATS_PID=$!
  NATS_PIDS+=("$NATS_PID")
  NATS_URL="nats://127.0.0.1:$NATS_PORT"
  wait_port "$NATS_PORT"
}
stop_nats() { kill -TERM "$NATS_PID"; wait "$NATS_PID" 2>/dev/null || true; }

check() { [ "$2" = "$3" ] || die "$1: got '$2', want '$3'"; }
expect() { [[ "$1" == *"$2"* ]] || die "output lacks '$2': $1"; }
expect_fail() { # code message cmd...
  local code=$1 msg=$2 out rc=0; shift 2
  out=$("$@" 2>&1) || rc=$?
  [ $rc -eq "$code" ] || die "$* exited $rc, want $code: $out"
  expect "$out" "$msg"
}
summary_field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p; s/^$2=\([0-9]*\).*/\1/p" <<<"$1" | head -1; }
# A 3-node JetStream cluster on loopback: node i is server name n$i, its PID in CLUSTER_PID[i].
start_cluster() {
  local i ports=() cports=() routes
  for i in 1 2 3; do ports[i]=$(free_port); cports[i]=$(free_port); done
  routes="nats://127.0.0.1:${cports[1]},nats://127.0.0.1:${cports[2]},nats://127.0.0.1:${cports[3]}"
  CLUSTER_URLS="nats://127.0.0.1:${ports[1]},nats://127.0.0.1:${ports[2]},nats://127.0.0.1:${ports[3]}"
  CLUSTER_PORT=()
  for i in 1 2 3; do
    "$NATSD" -js -n "n$i" -a 127.0.0.1 -p "${ports[i]}" -sd "$WORK/store$i" --cluster_name evrt \
      -cluster "nats://127.0.0.1:${cports[i]}" -routes "$routes" >>"$WORK/nats$i.log" 2>&1 &
    CLUSTER_PID[i]=$!
    CLUSTER_PORT[i]=${ports[i]}
    NATS_PIDS+=("$!")
  done
  for i in 1 2 3; do wait_port "${ports[i]}"; done
}
