#!/usr/bin/env bash
# test_live.sh: the live event stream (GET /simhub/v1/events), /metrics, POST /simhub/v1/reset
# and C2D feedback (GET /simhub/v1/c2d/feedback) on a real `simhub serve`, with curl and
# mosquitto_pub: telemetry over MQTT, a desired patch, connection events, filters, two watchers,
# a watcher that stops reading (dropped with event: overflow, nobody else stalls), the metrics
# text format and its counters, reset and re-seed from fixtures, feedback for each ack mode and
# outcome, and the auth errors of every new endpoint.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in curl jq mosquitto_pub; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
tmp=$(mktemp -d)
pid=
watchers=()
cleanup() {
	for w in "${watchers[@]}"; do kill "$w" 2>/dev/null || true; done
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
db="$tmp/hub.db"
hub() { "$SIMHUB" "$@" --db "$db"; }
mkdir -p "$tmp/fx"
cat >"$tmp/fx/hub.json" <<'EOF'
{"devices": [{"id": "seed1", "twin": {"tags": {"site": "lab"}}}, {"id": "seed2"}]}
EOF
hub device add dev1 >/dev/null
hub device add dev2 >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	--fixtures "$tmp/fx" >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start: $(cat "$tmp/serve.err")"
base="https://localhost:$(jq .https "$tmp/ready.json")"
mqtt=$(jq .mqtt "$tmp/ready.json")
ca=$(jq -r .ca "$tmp/ready.json")
owner=$(hub cs --policy iothubowner --expiry 1h)
rread=$(hub cs --policy registryRead --expiry 1h)
svc=$(hub cs --policy service --expiry 1h)
dev1=$(hub cs dev1 --expiry 1h)
dev2=$(hub cs dev2 --expiry 1h)

call() { # call METHOD PATH [curl args...] -> $status, $tmp/body ($auth, default iothubowner)
	local m=$1 p=$2; shift 2
	local args=(-s --cacert "$ca" -X "$m" -o "$tmp/body" -w '%{http_code}')
	local a=${auth-$owner}
	[ -n "$a" ] && args+=(-H "Authorization: $a")
	status=$(curl "${args[@]}" "$@" "$base$p")
}
expect_status() { [ "$status" = "$1" ] || fail "$2: status $status, body $(cat "$tmp/body")"; ok; }
# watch NAME QUERY [curl args...]: a watcher writing the stream to $tmp/NAME.sse
watch() {
	local name=$1 q=$2; shift 2
	curl -sN --cacert "$ca" -H "Authorization: $owner" "$@" "$base/simhub/v1/events$q" \
		>"$tmp/$name.sse" 2>/dev/null &
	watchers+=($!)
	for _ in $(seq 1 100); do grep -q 'simhub live events' "$tmp/$name.sse" 2>/dev/null && return; sleep 0.05; done
	fail "watcher $name did not start"
}
# events NAME TYPE: the data lines of TYPE events seen by watcher NAME, as JSON lines
events() { awk -v t="$2" '/^event: /{e=$2} /^data: /{if (e==t) print substr($0,7)}' "$tmp/$1.sse"; }
# wait_for NAME TYPE COUNT: until watcher NAME saw COUNT events of TYPE (5 s)
wait_for() {
	for _ in $(seq 1 100); do [ "$(events "$1" "$2" | wc -l)" -ge "$3" ] && return; sleep 0.05; done
	fail "watcher $1 saw $(events "$1" "$2" | wc -l) $2 events, wanted $3: $(cat "$tmp/$1.sse")"
}
metric() { curl -s --cacert "$ca" "$base/metrics" | awk -v k="$1" '$1==k {print $2}'; }

# --- auth of every new endpoint --------------------------------------------------------------------
for p in /simhub/v1/events /simhub/v1/c2d/feedback; do
	auth="" call GET "$p"; expect_status 401 "$p without a token"
	auth="$dev1" call GET "$p"; expect_status 401 "$p with a device token"
done
auth="" call POST /simhub/v1/reset; expect_status 401 "reset without a token"
auth="$dev1" call POST /simhub/v1/reset; expect_status 401 "reset with a device token"
auth="$rread" call POST /simhub/v1/reset; expect_status 401 "reset with registryRead only"
auth="$svc" call POST /simhub/v1/reset; expect_status 401 "reset with service only"
auth="" call GET /metrics; expect_status 200 "metrics need no token"
call GET '/simhub/v1/events?types=telemetry,bogus'; expect_status 400 "unknown event type"
call GET '/simhub/v1/events?deviceId='; expect_status 400 "empty deviceId"
call POST /simhub/v1/reset -d '[1]'; expect_status 400 "reset body not an object"
call POST /simhub/v1/reset -d '{"fixtures":"yes"}'; expect_status 400 "reset fixtures not a bool"
call POST /simhub/v1/reset -d '{'; expect_status 400 "reset body not JSON"

# --- the stream: headers, telemetry over MQTT, desired patch, connections, filters ------------------------
curl -s --cacert "$ca" -H "Authorization: $svc" -D "$tmp/headers" -o /dev/null --max-time 1 \
	"$base/simhub/v1/events" || true
grep -qi '^content-type: text/event-stream' "$tmp/headers" || fail "SSE content type: $(cat "$tmp/headers")"; ok
grep -qi '^cache-control: no-cache' "$tmp/headers" || fail "SSE cache-control"; ok
grep -q '^HTTP/1.1 200' "$tmp/headers" || fail "SSE status"; ok
watch all ""
watch w2 ""
watch tele1 "?types=telemetry&deviceId=dev1"
watch twinconn "?types=twin,connection"
mosquitto_pub -h 127.0.0.1 -p "$mqtt" -i dev1 -u "localhost/dev1/?api-version=2021-04-12" -P "$dev1" \
	-q 1 -t 'devices/dev1/messages/events/color=red' -m '{"temp":21}' || fail "mosquitto_pub dev1"
mosquitto_pub -h 127.0.0.1 -p "$mqtt" -i dev2 -u "localhost/dev2/?api-version=2021-04-12" -P "$dev2" \
	-q 1 -t 'devices/dev2/messages/events/' -m 'plain' || fail "mosquitto_pub dev2"
call PATCH "/twins/dev1?api-version=2021-04-12" -H 'Content-Type: application/json' \
	-d '{"properties":{"desired":{"fan":true}}}'
expect_status 200 "desired patch"
wait_for all telemetry 2
wait_for all twin 1
wait_for all connection 4
wait_for w2 telemetry 2
events all telemetry | head -1 | jq -e '.type == "telemetry" and .deviceId == "dev1" and
	(has("moduleId") | not) and .body == "{\"temp\":21}" and .properties.color == "red" and
	.systemProperties["iothub-connection-device-id"] == "dev1" and (.time | test("Z$"))' >/dev/null ||
	fail "telemetry event: $(events all telemetry | head -1)"; ok
events all twin | jq -e '.section == "desired" and .patch.fan == true and .desiredVersion == 2' >/dev/null ||
	fail "twin event: $(events all twin)"; ok
[ "$(events all connection | jq -r '.event' | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" = \
	"2connect 2disconnect " ] || fail "connection events: $(events all connection)"; ok
# ids: one per event, growing by one; the "id:" line matches the JSON id
awk '/^id: /{print $2}' "$tmp/all.sse" >"$tmp/ids"
[ "$(sort -n "$tmp/ids" | uniq | wc -l)" = "$(wc -l <"$tmp/ids")" ] || fail "duplicate ids"; ok
awk 'NR>1 && $1 != prev+1 {exit 1} {prev=$1}' "$tmp/ids" || fail "ids not consecutive: $(cat "$tmp/ids")"; ok
events all telemetry | jq -r .id | while read -r i; do grep -q "^id: $i\$" "$tmp/all.sse" || exit 1; done ||
	fail "id line differs from JSON id"; ok
wait_for tele1 telemetry 1
sleep 0.3
[ "$(grep -c '^event: ' "$tmp/tele1.sse")" = 1 ] || fail "deviceId+types filter: $(cat "$tmp/tele1.sse")"; ok
wait_for twinconn twin 1
[ "$(grep -c '^event: telemetry' "$tmp/twinconn.sse" || true)" = 0 ] || fail "types filter let telemetry in"; ok
[ "$(events twinconn connection | wc -l)" -ge 4 ] || fail "types=twin,connection missed connections"; ok

# --- a watcher that stops reading is dropped; the others and the devices carry on -------------------------
curl -sN --cacert "$ca" -H "Authorization: $owner" --limit-rate 1 "$base/simhub/v1/events" \
	>"$tmp/slow.sse" 2>/dev/null &
slow=$!
watchers+=($slow)
sleep 0.3
head -c 200000 /dev/zero | tr '\0' 'x' >"$tmp/big"
t0=$(date +%s)
for i in $(seq 1 40); do
	auth=$dev2 call POST "/devices/dev2/messages/events?api-version=2021-04-12" --data-binary @"$tmp/big"
	[ "$status" = 204 ] || fail "big telemetry $i: $status"
done
[ $(( $(date +%s) - t0 )) -lt 10 ] || fail "telemetry stalled behind a slow watcher"; ok
wait_for w2 telemetry 42
for _ in $(seq 1 100); do [ "$(metric simhub_event_watchers_dropped_total)" -ge 1 ] && break; sleep 0.1; done
[ "$(metric simhub_event_watchers_dropped_total)" -ge 1 ] || fail "slow watcher not dropped"; ok

# --- metrics: the format, and counters that move -------------------------------------------------------
curl -s --cacert "$ca" "$base/metrics" >"$tmp/metrics"
grep -vE '^(# (HELP|TYPE) [a-z_][a-z0-9_]* .+|[a-z_][a-z0-9_]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$' "$tmp/metrics" &&
	fail "metrics lines that are neither comment nor sample"; ok
grep -q '^simhub_build_info{version="' "$tmp/metrics" || fail "build info"; ok
[ "$(metric simhub_messages_received_total)" = 42 ] || fail "messages_received: $(metric simhub_messages_received_total)"; ok
[ "$(metric 'simhub_twin_operations_total{op="desired"}')" = 1 ] || fail "twin ops"; ok
[ "$(metric simhub_connections)" = 0 ] || fail "connections gauge"; ok
saved() { awk -v k="$1" '$1==k {print $2}' "$tmp/metrics"; }   # from one scrape
[ "$(saved 'simhub_store_commit_seconds_bucket{le="+Inf"}')" = "$(saved simhub_store_commit_seconds_count)" ] ||
	fail "histogram +Inf != count"; ok
[ "$(saved simhub_store_commit_seconds_count)" -ge 1 ] || fail "no commits measured"; ok
awk -F'[ ]' '/^simhub_store_commit_seconds_bucket/ { if ($2 < prev) exit 1; prev = $2 }' "$tmp/metrics" ||
	fail "histogram buckets not cumulative"; ok
before=$(metric 'simhub_errors_total{code="404001",name="DeviceNotFound"}')
call GET "/devices/nobody?api-version=2021-04-12"; expect_status 404 "unknown device"
after=$(metric 'simhub_errors_total{code="404001",name="DeviceNotFound"}')
[ "$after" = $(( ${before:-0} + 1 )) ] || fail "errors_total 404001: $before -> $after"; ok

# --- C2D feedback for each ack mode and outcome --------------------------------------------------------
c2d() { # c2d ID ACK: queue one message for dev1
	call POST "/devices/dev1/messages/deviceBound?api-version=2021-04-12" -d "m-$1" \
		-H "iothub-messageid: $1" -H "iothub-ack: $2"
	[ "$status" = 204 ] || fail "c2d $1: $status $(cat "$tmp/body")"
}
settle() { # settle complete|reject: receive the next message of dev1 over HTTPS and settle it
	local lock
	lock=$(curl -s --cacert "$ca" -H "Authorization: $dev1" -D - -o /dev/null \
		"$base/devices/dev1/messages/deviceBound?api-version=2021-04-12" |
		awk -F'"' 'tolower($0) ~ /^etag:/ {print $2}')
	[ -n "$lock" ] || fail "nothing to receive"
	local q=""; [ "$1" = reject ] && q="&reject"
	auth=$dev1 call DELETE "/devices/dev1/messages/deviceBound/$lock?api-version=2021-04-12$q"
	[ "$status" = 204 ] || fail "settle $1: $status"
}
for ack in none positive negative full; do
	c2d "$ack-ok" "$ack"; settle complete
	c2d "$ack-rej" "$ack"; settle reject
done
call GET /simhub/v1/c2d/feedback; expect_status 200 "feedback list"
[ "$(jq -r '[.feedback[] | .originalMessageId + ":" + .statusCode] | join(" ")' "$tmp/body")" = \
	"positive-ok:Success negative-rej:Rejected full-ok:Success full-rej:Rejected" ] ||
	fail "feedback records: $(cat "$tmp/body")"; ok
jq -e '.feedback | all(.deviceId == "dev1" and (.deviceGenerationId | length > 0) and
	(.enqueuedTimeUtc | test("Z$")) and (.description | length > 0))' "$tmp/body" >/dev/null ||
	fail "feedback fields: $(cat "$tmp/body")"; ok
call GET '/simhub/v1/c2d/feedback?limit=3'; expect_status 200 "feedback page"
c=$(jq -r .continuation "$tmp/body")
[ "$(jq '.feedback | length' "$tmp/body")" = 3 ] && [ "$c" != null ] || fail "page 1: $(cat "$tmp/body")"; ok
call GET "/simhub/v1/c2d/feedback?limit=3&continuation=$c"; expect_status 200 "feedback page 2"
[ "$(jq -r '.feedback[0].originalMessageId' "$tmp/body")" = full-rej ] || fail "page 2: $(cat "$tmp/body")"; ok
call GET '/simhub/v1/c2d/feedback?deviceId=dev2'; expect_status 200 "feedback of dev2"
[ "$(jq '.feedback | length' "$tmp/body")" = 0 ] || fail "deviceId filter"; ok
call GET '/simhub/v1/c2d/feedback?from=nonsense'; expect_status 400 "bad from"
# expiry: a negative-ack message with a 1 s TTL, then a receive that dead-letters it
call POST "/devices/dev1/messages/deviceBound?api-version=2021-04-12" -d x -H 'iothub-messageid: exp' \
	-H 'iothub-ack: negative' -H "iothub-expiry: $(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%S.000Z)"
[ "$status" = 204 ] || fail "c2d with expiry: $status $(cat "$tmp/body")"
sleep 1.5
auth=$dev1 call GET "/devices/dev1/messages/deviceBound?api-version=2021-04-12"; expect_status 204 "expired: nothing"
call GET /simhub/v1/c2d/feedback
[ "$(jq -r '.feedback[-1] | .originalMessageId + ":" + .statusCode' "$tmp/body")" = exp:Expired ] ||
	fail "expired feedback: $(cat "$tmp/body")"; ok
wait_for all c2d 10
events all c2d | jq -e 'select(.event == "feedback") | .statusCode' >/dev/null || fail "feedback events"; ok
[ "$(metric 'simhub_c2d_messages_total{outcome="feedback"}')" = 5 ] || fail "feedback counter"; ok

# --- reset, and reset with the fixtures ---------------------------------------------------------------
mosquitto_sub -h 127.0.0.1 -p "$mqtt" -i dev1 -u "localhost/dev1/?api-version=2021-04-12" -P "$dev1" \
	-q 1 -t 'devices/dev1/messages/devicebound/#' -W 10 >/dev/null 2>&1 &
sub=$!
for _ in $(seq 1 100); do [ "$(metric simhub_connections)" = 1 ] && break; sleep 0.05; done
[ "$(metric simhub_connections)" = 1 ] || fail "mosquitto_sub not connected"; ok
call POST /simhub/v1/reset; expect_status 200 "reset"
jq -e '.removed.devices == 4 and .removed.messages == 42 and .removed.c2dFeedback == 5 and
	.sessionsClosed == 1 and .fixtures == false' "$tmp/body" >/dev/null || fail "reset counts: $(cat "$tmp/body")"; ok
for _ in $(seq 1 100); do kill -0 "$sub" 2>/dev/null || break; sleep 0.05; done
kill -0 "$sub" 2>/dev/null && fail "the session of a deleted device stayed open"; ok
call GET "/devices?api-version=2021-04-12"; expect_status 200 "list after reset"
[ "$(jq length "$tmp/body")" = 0 ] || fail "devices after reset: $(cat "$tmp/body")"; ok
call GET /simhub/v1/messages
[ "$(jq '.messages | length' "$tmp/body")" = 0 ] || fail "messages after reset"; ok
auth=$owner call GET /simhub/v1/health; expect_status 200 "policies survive a reset"
call POST /simhub/v1/reset -H 'Content-Type: application/json' -d '{"fixtures":true}'
expect_status 200 "reset with fixtures"
jq -e '.fixtures == true' "$tmp/body" >/dev/null || fail "reset fixtures: $(cat "$tmp/body")"; ok
call GET "/devices?api-version=2021-04-12"
[ "$(jq -r '[.[].deviceId] | sort | join(",")' "$tmp/body")" = seed1,seed2 ] || fail "re-seeded: $(cat "$tmp/body")"; ok
call GET "/twins/seed1?api-version=2021-04-12"
[ "$(jq -r .tags.site "$tmp/body")" = lab ] || fail "seed twin: $(cat "$tmp/body")"; ok

# the first watchers are still there and saw everything in order
wait_for all telemetry 42
echo "test_live: $checks checks passed"
