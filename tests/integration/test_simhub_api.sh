#!/usr/bin/env bash
# test_simhub_api.sh: simhub's own read API (/simhub/v1, docs/api.md) on a real `simhub serve`,
# with curl: authorisation (none, a device token, registryRead, service, a policy without the
# rights), messages stored through the HTTPS device API read back with their properties and
# bodies (text and base64), every filter (device, module, time range, property), paging with
# limit and continuation, bad arguments (400), connection events of an MQTT client, and health.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in curl jq mosquitto_pub; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
db="$tmp/hub.db"
hub() { "$SIMHUB" "$@" --db "$db"; }
hub device add dev1 >/dev/null
hub module add dev1 mod1 >/dev/null
hub device add dev2 >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start: $(cat "$tmp/serve.err")"
base="https://localhost:$(jq .https "$tmp/ready.json")"
ca=$(jq -r .ca "$tmp/ready.json")
owner=$(hub cs --policy iothubowner --expiry 1h)
svc=$(hub cs --policy service --expiry 1h)
rread=$(hub cs --policy registryRead --expiry 1h)
devpol=$(hub cs --policy device --expiry 1h)
dev1=$(hub cs dev1 --expiry 1h)
dev2=$(hub cs dev2 --expiry 1h)
mod1=$(hub cs dev1/mod1 --expiry 1h)

# call METHOD PATH [curl args...]: $auth (default iothubowner; set but empty: no header) ->
# status in $status, body in $tmp/body. PATH may carry its own query string.
call() {
	local m=$1 p=$2; shift 2
	local args=(-s --cacert "$ca" -X "$m" -o "$tmp/body" -w '%{http_code}')
	local a=${auth-$owner}
	[ -n "$a" ] && args+=(-H "Authorization: $a")
	status=$(curl "${args[@]}" "$@" "$base$p")
}
expect_status() { [ "$status" = "$1" ] || fail "$2: status $status, body $(cat "$tmp/body")"; ok; }
errcode() { jq -r '.Message | fromjson | .errorCode' "$tmp/body"; }
send() { # send AUTH PATH BODY [curl args...]: one message through the HTTPS device API
	local a=$1 p=$2 b=$3; shift 3
	auth=$a call POST "$p?api-version=2021-04-12" --data-binary "$b" "$@"
	[ "$status" = 204 ] || fail "send $p: $status $(cat "$tmp/body")"
}

# --- authorisation ---------------------------------------------------------------------------------
auth="" call GET /simhub/v1/messages; expect_status 401 "no Authorization"
[ "$(errcode)" = 401003 ] || fail "401 body: $(cat "$tmp/body")"; ok
auth="$dev1" call GET /simhub/v1/messages; expect_status 401 "a device token"
auth="$devpol" call GET /simhub/v1/health; expect_status 401 "DeviceConnect only"
auth="$rread" call GET /simhub/v1/messages; expect_status 200 "registryRead reads messages"
auth="$svc" call GET /simhub/v1/connections; expect_status 200 "service reads connections"
call POST /simhub/v1/messages -d x; expect_status 405 "POST"
auth="$rread" call GET /simhub/v1/methods; expect_status 200 "registryRead reads method calls"
auth="$devpol" call GET /simhub/v1/methods; expect_status 401 "DeviceConnect cannot read method calls"

# --- health ------------------------------------------------------------------------------------------------
call GET /simhub/v1/health; expect_status 200 "health"
jq -e '.status == "ok" and .version == .versions.simhub and .schema >= 3 and .uptimeSeconds >= 0 and
	(.versions.sqlite | test("^3\\.")) and (.versions.openssl | test("SSL")) and
	(.versions.libwebsockets | length > 0)' "$tmp/body" >/dev/null || fail "health: $(cat "$tmp/body")"; ok

# --- messages: what was stored comes back -------------------------------------------------------------------
call GET /simhub/v1/messages; expect_status 200 "empty list"
[ "$(jq -c . "$tmp/body")" = '{"messages":[]}' ] || fail "empty: $(cat "$tmp/body")"; ok
t0=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
send "$dev1" /devices/dev1/messages/events '{"t":1}' -H 'iothub-app-color: red' -H 'iothub-messageid: m1' \
	-H 'iothub-contenttype: application/json'
send "$dev2" /devices/dev2/messages/events 'héllo' -H 'iothub-app-color: blue'
send "$mod1" /devices/dev1/modules/mod1/messages/events 'from module' -H 'iothub-app-color: red'
printf 'bin\000\377ary' >"$tmp/bin"
auth=$dev1 call POST "/devices/dev1/messages/events?api-version=2021-04-12" --data-binary @"$tmp/bin" \
	-H 'iothub-app-kind: binary' -H 'iothub-app-note: a b/c:d'
[ "$status" = 204 ] || fail "send binary: $status"
sleep 0.05
t1=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
sleep 0.05
send "$dev2" /devices/dev2/messages/events 'late'

call GET /simhub/v1/messages; expect_status 200 "all messages"
[ "$(jq '.messages | length' "$tmp/body")" = 5 ] && [ "$(jq 'has("continuation")' "$tmp/body")" = false ] ||
	fail "all: $(cat "$tmp/body")"; ok
jq -e '.messages[0] | .seq == 1 and .deviceId == "dev1" and (has("moduleId") | not) and
	.body == "{\"t\":1}" and .properties == {"color":"red"} and
	.systemProperties."message-id" == "m1" and .systemProperties."iothub-content-type" == "application/json" and
	.systemProperties."iothub-connection-device-id" == "dev1" and (.enqueuedTimeUtc | test("^20..-..-..T..:..:..\\.[0-9]{7}Z$"))' \
	"$tmp/body" >/dev/null || fail "first message: $(jq -c '.messages[0]' "$tmp/body")"; ok
[ "$(jq -r '.messages[1].body' "$tmp/body")" = 'héllo' ] || fail "utf-8 body"; ok
[ "$(jq -r '.messages[2].moduleId + "|" + .messages[2].body' "$tmp/body")" = 'mod1|from module' ] || fail "module message"; ok
[ "$(jq -r '.messages[3] | (has("body") | tostring) + "|" + .bodyBase64' "$tmp/body")" = "false|$(base64 -w0 "$tmp/bin")" ] ||
	fail "binary body: $(jq -c '.messages[3]' "$tmp/body")"; ok

# --- filters -------------------------------------------------------------------------------------------------------
list() { # list QUERY: the bodies (or base64) of the matching messages, joined by '|'
	call GET "/simhub/v1/messages?$1"; expect_status 200 "list $1"
	jq -r '[.messages[] | (.body // .bodyBase64)] | join("|")' "$tmp/body"
}
[ "$(list deviceId=dev1)" = "{\"t\":1}|from module|$(base64 -w0 "$tmp/bin")" ] || fail "deviceId"; ok
[ "$(list 'deviceId=dev1&moduleId=mod1')" = "from module" ] || fail "moduleId"; ok
[ "$(list 'deviceId=dev1&moduleId=')" = "{\"t\":1}|$(base64 -w0 "$tmp/bin")" ] || fail "moduleId empty"; ok
[ "$(list deviceId=nobody)" = "" ] || fail "unknown device"; ok
[ "$(list "from=$t1")" = "late" ] || fail "from"; ok
[ "$(list "from=$t0&to=$t1&deviceId=dev2")" = "héllo" ] || fail "from+to"; ok
[ "$(list 'property=color:red')" = '{"t":1}|from module' ] || fail "property"; ok
[ "$(list 'property=message-id:m1')" = '{"t":1}' ] || fail "system property"; ok
[ "$(list 'property=note:a%20b%2Fc%3Ad')" = "$(base64 -w0 "$tmp/bin")" ] || fail "encoded property value"; ok
[ "$(list 'property=color:green')" = "" ] || fail "no property match"; ok
[ "$(list 'api-version=2021-04-12&deviceId=dev2')" = "héllo|late" ] || fail "api-version is ignored"; ok

# --- paging --------------------------------------------------------------------------------------------------------
call GET "/simhub/v1/messages?limit=2"; expect_status 200 "page 1"
[ "$(jq -r '[.messages[].seq] | join(",")' "$tmp/body")/$(jq -r .continuation "$tmp/body")" = "1,2/2" ] ||
	fail "page 1: $(cat "$tmp/body")"; ok
call GET "/simhub/v1/messages?limit=2&continuation=2"; expect_status 200 "page 2"
[ "$(jq -r '[.messages[].seq] | join(",")' "$tmp/body")/$(jq -r .continuation "$tmp/body")" = "3,4/4" ] ||
	fail "page 2: $(cat "$tmp/body")"; ok
call GET "/simhub/v1/messages?limit=2&continuation=4"; expect_status 200 "page 3"
[ "$(jq -r '[.messages[].seq] | join(",")' "$tmp/body")/$(jq -r 'has("continuation")' "$tmp/body")" = "5/false" ] ||
	fail "page 3: $(cat "$tmp/body")"; ok
[ "$(list 'deviceId=dev1&limit=1&continuation=1')" = "from module" ] || fail "page with a filter"; ok

# --- bad arguments ---------------------------------------------------------------------------------------------------
for q in limit=0 limit=1001 limit=x limit=-1 continuation=abc continuation=-1 from=yesterday \
	to=2025-13-01T00:00:00Z property=nocolon property=:v "deviceId=$(head -c 200 /dev/zero | tr '\0' a)"; do
	call GET "/simhub/v1/messages?$q"; expect_status 400 "bad $q"
	[ "$(errcode)" = 400004 ] || fail "400004 for $q: $(cat "$tmp/body")"; ok
done
call GET "/simhub/v1/connections?from=nope"; expect_status 400 "bad from on connections"

# --- connection events --------------------------------------------------------------------------------------------------
mqtt=$(jq .mqtt "$tmp/ready.json")
mosquitto_pub -h 127.0.0.1 -p "$mqtt" -i dev2 -u "localhost/dev2/?api-version=2021-04-12" -P "$dev2" \
	-q 1 -t 'devices/dev2/messages/events/' -m 'over mqtt' || fail "mosquitto_pub"
for _ in $(seq 1 100); do
	call GET "/simhub/v1/connections?deviceId=dev2"
	[ "$(jq '.events | length' "$tmp/body")" -ge 2 ] && break
	sleep 0.05
done
expect_status 200 "connections"
jq -e '.events[0].event == "connect" and .events[0].deviceId == "dev2" and (.events[0].timeUtc | test("Z$")) and
	.events[1].event == "disconnect" and .events[1].id > .events[0].id' "$tmp/body" >/dev/null ||
	fail "events: $(cat "$tmp/body")"; ok
call GET "/simhub/v1/connections?deviceId=dev2&limit=1"; expect_status 200 "connections page"
[ "$(jq -r '.events[0].event + "/" + .continuation' "$tmp/body")" = "connect/$(jq -r '.events[0].id' "$tmp/body")" ] ||
	fail "connections page: $(cat "$tmp/body")"; ok
call GET "/simhub/v1/connections?deviceId=dev1"; expect_status 200 "no events for dev1"
[ "$(jq '.events | length' "$tmp/body")" = 0 ] || fail "dev1 events: $(cat "$tmp/body")"; ok
call GET "/simhub/v1/connections?to=$t0"; expect_status 200 "events before the start"
[ "$(jq '.events | length' "$tmp/body")" = 0 ] || fail "to filter: $(cat "$tmp/body")"; ok
[ "$(list deviceId=dev2)" = "héllo|late|over mqtt" ] || fail "MQTT message listed"; ok

kill -TERM "$pid"; wait "$pid" || fail "serve did not stop cleanly"; pid=
echo "test_simhub_api: $checks checks passed"
