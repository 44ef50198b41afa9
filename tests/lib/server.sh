# Starting and stopping the CLI's HTTP servers in the shell tests (sourced after checks.sh; the
# script sets EVR and dir).
# start_server SUBCOMMAND RING [flags]: `evring serve` or `evring metrics` on a free loopback port,
# its output in $dir/server.out; sets $server and $port, or says why (bad) and returns 1.
start_server() {
  local cmd=$1; shift
  : >"$dir/server.out"
  "$EVR" "$cmd" "$@" --listen 127.0.0.1:0 >"$dir/server.out" 2>&1 &
  server=$! port=
  for _ in $(seq 200); do grep -q serving "$dir/server.out" && break; sleep 0.05; done
  # serve prints http://127.0.0.1:PORT/, metrics http://127.0.0.1:PORT/metrics
  port=$(sed -n 's|.*127\.0\.0\.1:\([0-9]*\)/\(metrics\)\{0,1\}$|\1|p' "$dir/server.out")
  [ -n "$port" ] || { bad "$cmd server did not start"; cat "$dir/server.out"; return 1; }
}
# stop_server: SIGTERM, and the server's exit status
stop_server() { kill "$server" 2>/dev/null; wait "$server"; local rc=$?; server=; return $rc; }
