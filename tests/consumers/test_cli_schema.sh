#!/usr/bin/env bash
# Two table versions on one ring, through the CLI: this evring is v1 (the platform's table, built in);
# schema_v2_tool is a producer built with v2 (tool_retried + jitter_ms, + tool_cancelled). The v1
# tools decode what they were not built with from the ring's own description.
# Usage: test_cli_schema.sh PATH/TO/evring PATH/TO/schema_v2_tool
set -uo pipefail
EVR=$1 V2=$2
source "$(dirname "$0")/lib_cli.sh"

# a v2 ring: a v1 producer (evring emit) and a v2 producer; a v1 consumer (evring tail)
R=/$tag-v2
expect_exit 0 "v2 tool creates a ring" "$V2" create $R
expect_exit 0 "v1 emit into the v2 ring" "$EVR" emit $R tool_retried tool=grep attempt=1 backoff_ms=10 "details=from v1"
expect_exit 0 "v2 emit into the v2 ring" "$V2" emit $R
expect_eq "v1 tail --json: v1 record, v2 record, v2-only type" \
'{"type":"tool_retried","attempt":1,"backoff_ms":10,"tool":"grep","jitter_ms":null,"details":"from v1"}
{"type":"tool_retried","attempt":3,"backoff_ms":500,"tool":"web_search","jitter_ms":75,"details":"from v2"}
{"type":"tool_cancelled","tool":"web_search","cancelled_by":"operator","reason":"operator","details":""}' \
"$("$EVR" tail $R --json 2>/dev/null | jq -c 'del(.domain,.seq,.ts,.time,.lane,.producer,.correlation_id,.plan_id,.truncated,.replayed)')"
expect_eq "v1 tail text" \
"tool_retried           p0 attempt=1 backoff_ms=10 tool=grep details=\"from v1\"
tool_retried           p1 plan=42 attempt=3 backoff_ms=500 tool=web_search jitter_ms=75 details=\"from v2\"
tool_cancelled         p1 plan=42 tool=web_search cancelled_by=operator reason=operator" \
"$("$EVR" tail $R 2>/dev/null | cut -d' ' -f2-)"
expect_eq "schema NAME: the ring's own table" \
"20 tool_retried             tool       attempt: u32 backoff_ms: u32 tool: string[23] jitter_ms: u32 (since v2)
38 tool_cancelled           tool       tool: string[23] (since v2) cancelled_by: string[15] (since v2) reason: u8 {timeout=1, operator=2, budget=3} (since v2) [type since v2]" \
"$("$EVR" schema $R | grep -E '^(20|38) ')"
expect_eq "schema NAME --json: version and type count" "2 39" "$("$EVR" schema $R --json | jq -r '"\(.schema_version) \(.types|length)"')"
expect_eq "schema NAME --json: the enum's named values" '[{"name":"timeout","value":1,"since":2},{"name":"operator","value":2,"since":2},{"name":"budget","value":3,"since":2}]' \
  "$("$EVR" schema $R --json | jq -c '.types[38].fields[2].values')"
expect_eq "stats NAME: per-type names from the ring" '{"tool_retried":2,"tool_cancelled":1}' \
  "$("$EVR" stats $R --json | jq -c '.types | map_values(.count)')"
expect_eq "stats NAME: the new type counts in its domain" "3" "$("$EVR" stats $R --json | jq -c '.domains.tool')"
expect_eq "schema without NAME: the platform's table" "1 38" "$("$EVR" schema --json | jq -r '"\(.schema_version) \(.types|length)"')"

# the record log carries the ring's description: replay (v1) decodes the v2 log by name, text and
# JSON, with no ring left to ask; a v1 log (a v1 ring, below) replays the same way
expect_exit 0 "record the v2 ring" "$EVR" record $R "$dir/v2.log" --exit-when-idle 0.2
"$EVR" unlink $R >/dev/null
expect_eq "replay --json of the v2 log, the ring gone" \
'{"type":"tool_retried","jitter_ms":null,"details":"from v1"}
{"type":"tool_retried","jitter_ms":75,"details":"from v2"}
{"type":"tool_cancelled","jitter_ms":null,"details":""}' \
"$("$EVR" replay "$dir/v2.log" --json 2>/dev/null | jq -c '{type,jitter_ms,details}')"
expect_eq "replay text of the v2 log" "tool_cancelled p1 plan=42 tool=web_search cancelled_by=operator reason=operator" \
"$("$EVR" replay "$dir/v2.log" 2>/dev/null | tail -1 | cut -d' ' -f2- | tr -s ' ')"

# a v1 ring: the v2 producer writes what the ring knows and is refused the rest
R1=/$tag-v1
expect_exit 0 "v1 create" "$EVR" create $R1 --lanes 1 --slots 64
expect_exit 1 "v2 emit into a v1 ring: tool_cancelled refused" "$V2" emit $R1
expect_err "tool_cancelled: ring header, version or schema mismatch" "refusal names the type"
expect_eq "v1 tail of the v1 ring: v2's tool_retried without the field the ring lacks" \
'{"type":"tool_retried","attempt":3,"backoff_ms":500,"tool":"web_search","details":"from v2"}' \
"$("$EVR" tail $R1 --json 2>/dev/null | jq -c '{type,attempt,backoff_ms,tool,jitter_ms,details} | del(.jitter_ms)')"
expect_eq "no jitter_ms key in the v1 ring" "false" "$("$EVR" tail $R1 --json 2>/dev/null | jq -c 'has("jitter_ms")')"
expect_exit 0 "record the v1 ring" "$EVR" record $R1 "$dir/v1.log" --exit-when-idle 0.2
expect_eq "replay of the v1 log" '{"type":"tool_retried","attempt":3,"has_jitter":false}' \
"$("$EVR" replay "$dir/v1.log" --json 2>/dev/null | jq -c '{type,attempt,has_jitter:has("jitter_ms")}')"

# several logs of two tables in one replay: each record decodes with its own file's description,
# also when -n keeps records past their file, and --summary merges the counts by type name
expect_eq "replay -n of the v2 and v1 logs" \
'{"type":"tool_retried","jitter_ms":75,"details":"from v2"}
{"type":"tool_cancelled","reason":"operator","details":""}
{"type":"tool_retried","jitter_ms":null,"details":"from v2"}' \
"$("$EVR" replay "$dir/v2.log" "$dir/v1.log" -n 3 --json 2>/dev/null | jq -c '{type,jitter_ms,reason,details} | with_entries(select(.value != null or .key == "jitter_ms")) | if .type == "tool_cancelled" then del(.jitter_ms) else . end')"
expect_eq "replay --summary of both logs" "tool_retried 3 tool_cancelled 1 total 4" \
"$("$EVR" replay "$dir/v2.log" "$dir/v1.log" --summary 2>/dev/null | awk '/^type/ {on = 1; next} on && NF {printf "%s%s %s", sep, $1, $2; sep = " "}')"

# a type only the newer log's table has filters that log, not the whole replay; a name no log has is a usage error
expect_eq "replay --type of a v2-only type across a v1 and a v2 log" "tool_cancelled" \
"$("$EVR" replay "$dir/v1.log" "$dir/v2.log" --type tool_cancelled --json 2>/dev/null | jq -r .type)"
expect_exit 2 "replay --type nope across both logs" "$EVR" replay "$dir/v1.log" "$dir/v2.log" --type nope
expect_err "no log's schema has an event type 'nope'" "the message names it"

# replay --into writes each log's records in the ring's layout: the v2 log into a new v1 ring
R3=/$tag-into-v1
expect_exit 0 "v1 create for replay --into" "$EVR" create $R3 --lanes 1 --slots 64
expect_exit 1 "replay the v2 log into a v1 ring: tool_cancelled refused" "$EVR" replay "$dir/v2.log" --into $R3
expect_err "refused a tool_cancelled record" "the refusal names the type"
expect_eq "the v1 ring holds the v2 log's tool_retried in its own layout" \
'{"type":"tool_retried","attempt":1,"details":"from v1","has_jitter":false}
{"type":"tool_retried","attempt":3,"details":"from v2","has_jitter":false}' \
"$("$EVR" tail $R3 --json 2>/dev/null | jq -c '{type,attempt,details,has_jitter:has("jitter_ms")}')"
"$EVR" unlink $R3 >/dev/null

# -n keeps records past their file: each must still be written with its own file's table
R4=/$tag-into-v2-n
expect_exit 0 "v2 create for replay -n --into" "$V2" create $R4
expect_exit 0 "replay -n of the v2 and v1 logs into a v2 ring" "$EVR" replay "$dir/v2.log" "$dir/v1.log" -n 3 --into $R4
expect_eq "the v2 log's tool_retried keeps its jitter_ms and details" \
'{"type":"tool_retried","attempt":3,"jitter_ms":75,"details":"from v2"}
{"type":"tool_cancelled","attempt":null,"jitter_ms":null,"details":""}
{"type":"tool_retried","attempt":3,"jitter_ms":null,"details":"from v2"}' \
"$("$EVR" tail $R4 --json 2>/dev/null | jq -c '{type,attempt,jitter_ms,details}')"
"$EVR" unlink $R4 >/dev/null
finish
