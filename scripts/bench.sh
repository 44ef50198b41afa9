#!/usr/bin/env bash
# Benchmarks (never part of the tests): build Release, run evr-bench (floors, emit cost,
# contention, throughput, sizes, end-to-end latency of evring and of its peers), LTTng-UST with a
# userspace-only session daemon, callgrind instructions per emit; write bench/results/results.csv,
# results.md and PNG plots. Usage: scripts/bench.sh [--quick]   (--quick: under 2 minutes)
source "$(dirname "$0")/lib.sh"
cd "$EVR_ROOT"
evr_install_deps
quick=
[ "${1:-}" = "--quick" ] && quick=--quick
want=()
while read -r pkg; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || want+=("$pkg")
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' bench/packages.txt)
if [ ${#want[@]} -gt 0 ]; then
  echo "== installing: ${want[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${want[@]}" >/dev/null
fi

echo "== build (Release) into build/bench"
evr_build build/bench -DCMAKE_BUILD_TYPE=Release -DEVR_BUILD_TESTS=OFF
bin=build/bench/bin
out=bench/results
mkdir -p "$out"
machine="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), kernel $(uname -r)"
echo "== machine: $machine"

echo "== evr-bench $quick"
"$bin/evr-bench" $quick "$out"

echo "== lttng-ust"
if [ -x "$bin/evr-bench-lttng" ]; then
  why=""
  sess=evr-bench-$$
  shm_before=$(ls /dev/shm) # lttng-ust leaves its lttng-ust-wait-* objects there: remove only ours
  export LTTNG_HOME=$(mktemp -d /tmp/evr-lttng.XXXX)
  # Our own session daemon, as a child (not --daemonize): we know its PID and stop only it, never
  # another lttng-sessiond on the machine. --sig-parent: it sends us SIGUSR1 once it is ready.
  sessiond_ready=
  trap 'sessiond_ready=1' USR1
  lttng-sessiond --no-kernel --sig-parent >"$LTTNG_HOME/sessiond.log" 2>&1 &
  sessiond_pid=$!
  for _ in $(seq 200); do [ -n "$sessiond_ready" ] || ! kill -0 "$sessiond_pid" 2>/dev/null && break; sleep 0.05; done
  trap - USR1
  if [ -z "$sessiond_ready" ]; then
    why="lttng-sessiond did not start: $(tail -1 "$LTTNG_HOME/sessiond.log")"
  # The default channel (4 x 512 KiB sub-buffers per CPU) discards tens of thousands of events
  # under this load, which makes the tracepoint look cheaper than it is: a 512 MiB buffer per CPU
  # holds what one CPU writes between the consumer daemon's drains, and the discard count is
  # printed and recorded so a run that still discarded says so.
  elif ! { lttng create "$sess" --output="$LTTNG_HOME/trace" &&
           lttng enable-channel -u --subbuf-size=4M --num-subbuf=128 evrbench &&
           lttng enable-event -u -c evrbench 'evr_bench:*' && lttng start; } >"$LTTNG_HOME/lttng.log" 2>&1; then
    why="lttng session setup failed: $(tail -1 "$LTTNG_HOME/lttng.log")"
  fi
  if [ -z "$why" ]; then
    sleep 0.5
    # register timeout -1: wait for the session daemon however long it takes to set up the large
    # channel (by default the program gives up after 3 s and runs with the tracepoint disabled)
    LTTNG_UST_REGISTER_TIMEOUT=-1 EVR_BENCH_LTTNG_SESSION=1 "$bin/evr-bench-lttng" $quick >> "$out/results.csv"
    lttng stop "$sess" >"$LTTNG_HOME/stop.log" 2>&1
    discarded=$(lttng list "$sess" 2>/dev/null | sed -n 's/.*[Dd]iscarded events: *\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
    echo "   lttng channel evrbench: $discarded events discarded"
    echo "peer,\"lttng-ust discarded events (512 MiB/CPU channel)\",events,$discarded,events,\"must be 0 for the figure above to count\"" >> "$out/results.csv"
    lttng destroy "$sess" >/dev/null 2>&1
  else
    echo "   $why"
    EVR_BENCH_LTTNG_WHY="$why" "$bin/evr-bench-lttng" $quick >> "$out/results.csv"
  fi
  kill "$sessiond_pid" 2>/dev/null; wait "$sessiond_pid" 2>/dev/null # it stops its consumer daemons
  rm -rf "$LTTNG_HOME"
  for f in $(comm -13 <(echo "$shm_before" | sort) <(ls /dev/shm | sort) | grep '^lttng-ust-wait-'); do
    rm -f "/dev/shm/$f"
  done
fi

# LTTng against evring's typed emit, on an exclusive and on a shared lane, with the ring's default clock (AUTO: the TSC
# where the kernel trusts it, as on the machines measured so far; the row says which)
python3 - "$out/results.csv" "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" <<'PY'
import csv, sys
path, clocksource = sys.argv[1], sys.argv[2]
rows = list(csv.reader(open(path)))
def val(section, name):  # names hold commas: read them as CSV, not split on ','
    return next((float(r[3]) for r in rows if r[0] == section and r[1] == name), None)
lt = next((float(r[3]) for r in rows if r[0] == "peer" and "session recording" in r[1]), None)
for lane in ("exclusive", "shared"):
    ev = val("limit", "typed emit, %s lane, TSC" % lane)
    if lt and ev:
        with open(path, "a", newline="") as f:
            csv.writer(f).writerow(["limit", "LTTng-UST tracepoint / %s-lane typed emit" % lane, "x", "%.3f" % (lt / ev),
                                    "x", "target >= 5; evring on the TSC (%s clocksource)" % clocksource])
PY

# per_emit SECTION COUNTER N1 N2 NOTE [SHARED_NOTE]: for each emit path, the instructions per typed
# emit, (COUNTER N2 - COUNTER N1) / (N2 - N1), as a row of SECTION; SHARED_NOTE is added to the
# shared lanes' rows.
per_emit() {
  local section=$1 counter=$2 n1=$3 n2=$4 note=$5 shared_note=${6:-} path what args a b per n
  for path in "shared lane, MONOTONIC clock|" "shared lane, TSC|tsc" "exclusive lane, TSC|x tsc"; do
    what=${path%|*} args=${path#*|}
    a=$($counter "$n1" $args); b=$($counter "$n2" $args)
    per=$(awk -v a="$a" -v b="$b" -v n="$((n2 - n1))" 'BEGIN {printf "%.1f", (b - a) / n}')
    echo "   $per instructions per typed emit, $what ($section: difference of $n1 and $n2 emits)"
    n=$note
    [ -n "$shared_note" ] && [ "${args#x}" = "$args" ] && n="$n; $shared_note"
    echo "$section,\"typed emit, $what\",instructions/emit,$per,instr,\"$n\"" >> "$out/results.csv"
  done
}

echo "== callgrind: instructions per emit"
ir() { # instructions of evr-bench --emit-only N [x] [tsc]
  local f; f=$(mktemp /tmp/evr-cg.XXXX)
  valgrind --tool=callgrind --callgrind-out-file="$f" "$bin/evr-bench" --emit-only "$@" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$f"; rm -f "$f"
}
# valgrind does not implement rseq: glibc registers no area, and a shared lane's claim goes through
# the library (the inline path's fallback); stepcount below counts the inline path natively
per_emit callgrind ir 100000 300000 "valgrind callgrind, difference of two run lengths" \
  "under valgrind (no rseq) the library's fallback path"

echo "== stepcount: instructions per emit, single-stepped natively"
steps() { EVR_BENCH_STEP_MARKS=1 "$bin/stepcount" "$bin/evr-bench" --emit-only "$@"; }
per_emit instructions steps 1000 3000 "ptrace single steps, difference of two window lengths"

echo "== report and plots"
python3 - "$out" <<'PY'
import sys, csv
out = sys.argv[1]
rows = [l.rsplit('"', 1) for l in open(f"{out}/latency.dat")]
for rate, fname in (("10k/s", "latency_10k.dat"), ("max", "latency_max.dat")):
    with open(f"{out}/{fname}", "w") as f:
        for name, rest in ((r[0].strip('" '), r[1].split()) for r in rows):
            if name.endswith(f"@ {rate}"):
                f.write(f'"{name[:-len(rate) - 3]}"\n' + "".join(f"{i} {v}\n" for i, v in enumerate(rest)) + "\n\n")
with open(f"{out}/throughput.dat", "w") as f:
    for r in csv.DictReader(open(f"{out}/results.csv")):
        if r["section"] == "throughput" and r["metric"] == "events/s":
            f.write(f'{r["name"].split()[0]} {float(r["value"]) / 1e6:.3f}\n')
PY
gnuplot <<GP
set terminal pngcairo size 1400,600 noenhanced
set output "$out/latency.png"
# nine transports, nine colours; evring drawn thicker
set linetype 1 lc rgb "#999999" lw 1 pt 1
set linetype 2 lc rgb "#d62728" lw 3 pt 7
set linetype 3 lc rgb "#ff7f0e" lw 3 pt 5
set linetype 4 lc rgb "#1f77b4" lw 1 pt 2
set linetype 5 lc rgb "#9467bd" lw 1 pt 4
set linetype 6 lc rgb "#8c564b" lw 1 pt 6
set linetype 7 lc rgb "#e377c2" lw 1 pt 8
set linetype 8 lc rgb "#2ca02c" lw 1 pt 10
set linetype 9 lc rgb "#17becf" lw 1 pt 12
set logscale y
set ylabel "latency (ns, log scale)"
set xtics ("p50" 0, "p90" 1, "p99" 2, "p99.9" 3, "p99.99" 4, "max" 5)
set key top left
set multiplot layout 1,2 title "End-to-end latency, producer process -> consumer process (2 cores)"
set title "offered 10k messages/s"
plot for [i=0:*] "$out/latency_10k.dat" index i using 1:2 with linespoints lt (i + 1) title columnheader(1)
set title "back to back (max rate; queueing included)"
plot for [i=0:*] "$out/latency_max.dat" index i using 1:2 with linespoints lt (i + 1) title columnheader(1)
unset multiplot
GP
gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output "$out/throughput.png"
set title "evring emit throughput vs producers (threads, $(nproc) cores)"
set xlabel "producers"
set ylabel "million events/s"
set yrange [0:*]
set xrange [0.8:4.2]
set xtics 1
set key bottom right
plot "$out/throughput.dat" using 1:2 with linespoints lw 2 pt 7 title "events/s, all producers together"
GP
python3 bench/report.py "$out" "$machine"
echo "== wrote $out/results.csv, $out/results.md, $out/latency.png, $out/throughput.png"
