#!/usr/bin/env bash
# test_method_log.sh: the method-call records of a real `simhub serve`, with curl: a call to an
# offline device is recorded as offline with 404103, one that waits for connectTimeoutInSeconds
# keeps both timeouts, refused requests leave no record, and GET /simhub/v1/methods filters
# (deviceId, moduleId, methodName, from/to) and pages. Answered calls: check_mqtt_service.c.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in curl jq sqlite3; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
db="$tmp/hub.db"
hub() { "$SIMHUB" "$@" --db "$db"; }
hub device add dev1 >/dev/null
hub device add dev2 >/dev/null
hub module add dev2 mod1 >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start: $(cat "$tmp/serve.err")"
base="https://localhost:$(jq .https "$tmp/ready.json")"
ca=$(jq -r .ca "$tmp/ready.json")
owner=$(hub cs --policy iothubowner --expiry 1h)

# call METHOD PATH [BODY]: status in $status, body in $tmp/body. PATH carries its query string.
call() {
	local m=$1 p=$2 body=${3:-}
	local args=(-s --cacert "$ca" -X "$m" -o "$tmp/body" -w '%{http_code}' -H "Authorization: $owner")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	status=$(curl "${args[@]}" "$base$p")
}
expect_status() { [ "$status" = "$1" ] || fail "$2: status $status, body $(cat "$tmp/body")"; ok; }
errcode() { jq -r '.Message | fromjson | .errorCode' "$tmp/body"; }
api='api-version=2021-04-12'

# --- recording -----------------------------------------------------------------------------------
call GET /simhub/v1/methods; expect_status 200 "empty list"
[ "$(jq -c . "$tmp/body")" = '{"calls":[]}' ] || fail "empty list: $(cat "$tmp/body")"; ok
call POST "/twins/dev1/methods?$api" '{"methodName":"reboot","payload":{"delay":5}}'
expect_status 404 "offline device"
[ "$(errcode)" = 404103 ] || fail "404103: $(cat "$tmp/body")"; ok
call POST "/twins/dev2/modules/mod1/methods?$api" \
	'{"methodName":"wake","payload":[1,"a"],"responseTimeoutInSeconds":7,"connectTimeoutInSeconds":1}'
expect_status 404 "module not connected within connectTimeoutInSeconds"
[ "$(errcode)" = 404103 ] || fail "404103 after waiting"; ok
# refused before acceptance: no record
call POST "/twins/dev1/methods?$api" '{"methodName":"bad name"}'; expect_status 400 "bad method name"
call POST "/twins/nope/methods?$api" '{"methodName":"x"}'; expect_status 404 "unknown device"
call POST "/twins/dev1/methods?$api" '{"methodName":"x","responseTimeoutInSeconds":1}'
expect_status 400 "timeout below 5"

call GET /simhub/v1/methods; expect_status 200 "list"
jq -e '.calls | length == 2' "$tmp/body" >/dev/null || fail "two records: $(cat "$tmp/body")"; ok
jq -e '.calls[0] | .deviceId == "dev1" and (has("moduleId") | not) and .methodName == "reboot" and
	.payload == {"delay":5} and .responseTimeoutInSeconds == 30 and .connectTimeoutInSeconds == 0 and
	.state == "offline" and .errorCode == 404103 and (has("status") | not) and
	(.requestedTimeUtc | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z$")) and
	.completedTimeUtc >= .requestedTimeUtc' "$tmp/body" >/dev/null || fail "offline record: $(cat "$tmp/body")"; ok
jq -e '.calls[1] | .deviceId == "dev2" and .moduleId == "mod1" and .methodName == "wake" and
	.payload == [1,"a"] and .responseTimeoutInSeconds == 7 and .connectTimeoutInSeconds == 1 and
	.state == "offline" and .errorCode == 404103 and .completedTimeUtc > .requestedTimeUtc' \
	"$tmp/body" >/dev/null || fail "waiting record: $(cat "$tmp/body")"; ok
[ "$(sqlite3 "$db" "SELECT count(*) FROM method_calls WHERE state = 'pending'")" = 0 ] || fail "pending rows left"; ok

# --- filters and paging ---------------------------------------------------------------------------
call GET "/simhub/v1/methods?deviceId=dev2"; expect_status 200 "by device"
[ "$(jq -r '[.calls[].methodName] | join(",")' "$tmp/body")" = wake ] || fail "deviceId filter"; ok
call GET "/simhub/v1/methods?deviceId=dev2&moduleId=mod1"; expect_status 200 "by module"
[ "$(jq '.calls | length' "$tmp/body")" = 1 ] || fail "moduleId filter"; ok
call GET "/simhub/v1/methods?methodName=reboot"; expect_status 200 "by name"
[ "$(jq -r '[.calls[].deviceId] | join(",")' "$tmp/body")" = dev1 ] || fail "methodName filter"; ok
call GET "/simhub/v1/methods?methodName=nothing"; expect_status 200 "no such name"
[ "$(jq '.calls | length' "$tmp/body")" = 0 ] || fail "unknown name"; ok
call GET "/simhub/v1/methods?from=2100-01-01T00:00:00Z"; expect_status 200 "from the future"
[ "$(jq '.calls | length' "$tmp/body")" = 0 ] || fail "from filter"; ok
call GET "/simhub/v1/methods?to=2000-01-01T00:00:00Z"; expect_status 200 "to the past"
[ "$(jq '.calls | length' "$tmp/body")" = 0 ] || fail "to filter"; ok
call GET "/simhub/v1/methods?limit=1"; expect_status 200 "first page"
[ "$(jq -r '.calls[0].methodName' "$tmp/body")" = reboot ] || fail "page 1"; ok
cont=$(jq -r .continuation "$tmp/body")
[ "$cont" != null ] || fail "no continuation"; ok
call GET "/simhub/v1/methods?limit=1&continuation=$cont"; expect_status 200 "second page"
[ "$(jq -r '.calls[0].methodName + "/" + (has("continuation") | tostring)' "$tmp/body")" = wake/false ] ||
	fail "page 2: $(cat "$tmp/body")"; ok
long=$(printf 'm%.0s' $(seq 1 129))
call GET "/simhub/v1/methods?methodName=$long"; expect_status 400 "methodName over 128"
call GET "/simhub/v1/methods?methodName="; expect_status 400 "empty methodName"
echo "ok: $checks checks"
