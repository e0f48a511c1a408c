#!/usr/bin/env bash
# test_rest_service.sh: the IoT Hub service REST API of a real `simhub serve`, with curl:
# service SAS authorisation (missing, wrong key, expired, policy without the right), both error
# body formats, registry create/get/update/delete with etags, twins GET/PATCH/PUT with If-Match,
# direct methods to an offline device (404103 at once, or after connectTimeoutInSeconds),
# C2D injection and its limits (403004, 413001, 400004), statistics, and wire details the Node
# service SDK depends on (the refused right named in a 401, a bulk item's etag spelled `etag`).
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in curl jq openssl sqlite3 mosquitto_sub; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
db="$tmp/hub.db"
"$SIMHUB" device add dev1 --db "$db" >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start: $(cat "$tmp/serve.err")"
base="https://localhost:$(jq .https "$tmp/ready.json")"
ca=$(jq -r .ca "$tmp/ready.json")
owner=$("$SIMHUB" cs --policy iothubowner --expiry 1h --db "$db")
svc=$("$SIMHUB" cs --policy service --expiry 1h --db "$db")
rread=$("$SIMHUB" cs --policy registryRead --expiry 1h --db "$db")

# call METHOD PATH [BODY] [extra curl args...] -> status in $status, body in $tmp/body, headers in $tmp/hdr
call() {
	local m=$1 p=$2 body=${3:-}; shift 3 || shift $#
	local args=(-s --cacert "$ca" -X "$m" -D "$tmp/hdr" -o "$tmp/body" -w '%{http_code}')
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json; charset=utf-8' --data-binary "$body")
	local a=${auth-$owner}   # auth unset: iothubowner; auth set but empty: no header at all
	[ -n "$a" ] && args+=(-H "Authorization: $a")
	status=$(curl "${args[@]}" "$@" "$base$p?api-version=2021-04-12")
}
expect_status() { [ "$status" = "$1" ] || fail "$2: status $status, body $(cat "$tmp/body")"; ok; }
errcode() { jq -r '.Message | fromjson | .errorCode' "$tmp/body"; }
hdr() { grep -i "^$1:" "$tmp/hdr" | sed 's/^[^:]*: *//; s/\r$//'; }

# --- authorisation ----------------------------------------------------------------------------------
auth="" call GET /devices/dev1 ""; expect_status 401 "no Authorization"
[ "$(hdr iothub-errorcode)" = IotHubUnauthorized ] || fail "401 header"; ok
[ "$(errcode)" = 401003 ] || fail "401 body: $(cat "$tmp/body")"; ok
grep -qi '^content-type: application/json; charset=utf-8' "$tmp/hdr" || fail "error content type"; ok
bad=$("$SIMHUB" cs --policy iothubowner --expiry 1h --db "$db" | sed 's/sig=[^&]*/sig=AAAA/')
auth="$bad" call GET /devices/dev1 ""; expect_status 401 "bad signature"
auth="$rread" call PUT /devices/newdev '{"deviceId":"newdev"}'; expect_status 401 "registryRead cannot write"
auth="$svc" call GET /devices/dev1 ""; expect_status 401 "service cannot read the registry"
auth="$rread" call GET /devices/dev1 ""; expect_status 200 "registryRead reads devices"
auth="$svc" call GET /twins/dev1 ""; expect_status 200 "ServiceConnect reads twins"
dev=$("$SIMHUB" cs dev1 --expiry 1h --db "$db")
auth="$dev" call GET /twins/dev1 ""; expect_status 401 "a device token is not a service token"
# Each refusal says what is wrong: a device token on the service API, a policy the hub does not
# have, a policy without the right the operation needs (named).
msg() { jq -r '.Message | fromjson | .message' "$tmp/body"; }
for p in /devices /simhub/v1/messages; do
	auth="$dev" call GET "$p" ""; expect_status 401 "a device token on $p"
	[ "$(errcode)" = 401003 ] || fail "device token on $p: $(cat "$tmp/body")"; ok
	[ "$(msg)" = "a device token cannot call the service API; use a shared access policy token (skn=...)" ] ||
		fail "device token text on $p: $(msg)"; ok
done
nopol=$(printf %s "$svc" | sed 's/skn=service/skn=nosuch/')
auth="$nopol" call GET /twins/dev1 ""; expect_status 401 "an unknown policy"
msg | grep -qx "the hub has no shared access policy named 'nosuch' (skn); this operation needs one that grants RegistryRead or ServiceConnect" ||
	fail "unknown policy text: $(msg)"; ok
auth="$svc" call GET /devices ""; expect_status 401 "service lists devices"
[ "$(msg)" = "the token's policy 'service' does not grant RegistryRead" ] || fail "missing right text: $(msg)"; ok

# --- registry ----------------------------------------------------------------------------------------------
call PUT /devices/dev2 '{"deviceId":"dev2","status":"enabled","authentication":{"type":"sas","symmetricKey":{"primaryKey":"","secondaryKey":""}}}'
expect_status 200 "create dev2"
[ "$(jq -r .etag "$tmp/body")" = "MQ==" ] && [ "$(hdr etag)" = '"MQ=="' ] || fail "create etag"; ok
[ "$(jq -r '.authentication.symmetricKey.primaryKey | length' "$tmp/body")" = 44 ] || fail "generated key"; ok
call PUT /devices/dev2 '{"deviceId":"dev2"}'; expect_status 409 "create twice"
[ "$(errcode)" = 409001 ] || fail "409001"; ok
call PUT /devices/dev2 '{"deviceId":"dev2","status":"disabled","statusReason":"lost"}' -H 'If-Match: "Mg=="'
expect_status 412 "update with a stale etag"
[ "$(errcode)" = 412001 ] || fail "412001"; ok
call PUT /devices/dev2 '{"deviceId":"dev2","status":"disabled","statusReason":"lost"}' -H 'If-Match: "MQ=="'
expect_status 200 "update"
[ "$(jq -r '.status + "/" + .statusReason + "/" + .etag' "$tmp/body")" = "disabled/lost/Mg==" ] || fail "update result"; ok
call PUT /devices/dev2/modules/m1 '{"deviceId":"dev2","moduleId":"m1","managedBy":"IotEdge"}'; expect_status 200 "create module"
call GET /devices/dev2/modules ""; expect_status 200 "list modules"
[ "$(jq -r '.[0].moduleId' "$tmp/body")" = m1 ] || fail "module list"; ok
call GET /devices ""; expect_status 200 "list devices"
[ "$(jq length "$tmp/body")" = 2 ] || fail "device list"; ok
call GET /statistics/devices ""; expect_status 200 "statistics"
[ "$(jq -c . "$tmp/body")" = '{"totalDeviceCount":2,"enabledDeviceCount":1,"disabledDeviceCount":1}' ] || fail "stats $(cat "$tmp/body")"; ok
call GET /statistics/service ""; expect_status 200 "service statistics"
call PUT /devices/bad%20id '{"deviceId":"bad id"}'; expect_status 400 "bad id"
call GET /devices/nope ""; expect_status 404 "missing device"
[ "$(errcode)" = 404001 ] && [ "$(hdr iothub-errorcode)" = DeviceNotFound ] || fail "404001"; ok
call GET /devices/nope "" -A "azure-iothub/1.16.6"; expect_status 404 "legacy body"
[ "$(jq -r .Message "$tmp/body")" = "ErrorCode:DeviceNotFound;device nope not found" ] || fail "legacy text $(cat "$tmp/body")"; ok
call DELETE /devices/dev2 "" -H 'If-Match: "MQ=="'; expect_status 412 "delete with a stale etag"
call DELETE /devices/dev2 "" -H 'If-Match: "*"'; expect_status 204 "delete"
call GET /devices/dev2/modules/m1 ""; expect_status 404 "module gone with its device"
call POST /devices/dev1 '{}'; expect_status 405 "method not allowed"
call GET /nowhere ""; expect_status 404 "unknown path"

# --- twins --------------------------------------------------------------------------------------------------
call GET /twins/dev1 ""; expect_status 200 "twin get"
etag=$(jq -r .etag "$tmp/body")
[ "$(hdr etag)" = "\"$etag\"" ] || fail "twin ETag header"; ok
call PATCH /twins/dev1 '{"tags":{"site":"lab"},"properties":{"desired":{"fan":true}}}' -H "If-Match: \"$etag\""
expect_status 200 "twin patch"
[ "$(jq -c '[.tags.site, .properties.desired.fan, .properties.desired["$version"]]' "$tmp/body")" = '["lab",true,2]' ] || fail "patch result"; ok
call PATCH /twins/dev1 '{"tags":{"x":1}}' -H "If-Match: \"$etag\""; expect_status 412 "stale twin etag"
call PATCH /twins/dev1 '{"properties":{"reported":{"x":1}}}' -H 'If-Match: "*"'; expect_status 400 "service cannot write reported"
call PATCH /twins/dev1 '{"properties":{"desired":{"a.b":1}}}'; expect_status 400 "bad key"
call PATCH /twins/dev1 'not json'; expect_status 400 "not JSON"
call PUT /twins/dev1 '{"tags":{"only":"this"},"properties":{"desired":{"k":2}}}' -H 'If-Match: "*"'
expect_status 200 "twin replace"
[ "$(jq -c '[.tags, .properties.desired.k, (.properties.desired | has("fan"))]' "$tmp/body")" = '[{"only":"this"},2,false]' ] || fail "replace $(jq -c .tags "$tmp/body")"; ok

# --- query ------------------------------------------------------------------------------------------------------
"$SIMHUB" device add qa --db "$db" >/dev/null
"$SIMHUB" device add qb --db "$db" >/dev/null
call PATCH /twins/qa '{"tags":{"site":"lab"}}' -H 'If-Match: "*"'; expect_status 200 "tag qa"
call POST /devices/query '{"query":"SELECT deviceId FROM devices WHERE tags.site = '\''lab'\''"}'
expect_status 200 "query with WHERE on tags"
[ "$(jq -c . "$tmp/body")" = '[{"deviceId":"qa"}]' ] && [ "$(hdr x-ms-item-type)" = Raw ] || fail "query result $(cat "$tmp/body")"; ok
[ -z "$(hdr x-ms-continuation)" ] || fail "continuation on the last page"; ok
call POST /devices/query '{"query":"SELECT * FROM devices"}' -H 'x-ms-max-item-count: 2'
expect_status 200 "query page 1"
[ "$(jq length "$tmp/body")" = 2 ] && [ "$(hdr x-ms-item-type)" = Twin ] || fail "page 1"; ok
cont=$(hdr x-ms-continuation); [ -n "$cont" ] || fail "no continuation"; ok
call POST /devices/query '{"query":"SELECT * FROM devices"}' -H 'x-ms-max-item-count: 2' -H "x-ms-continuation: $cont"
expect_status 200 "query page 2"
[ "$(jq -r '.[].deviceId' "$tmp/body" | tr '\n' ' ')" = "qb " ] || fail "page 2: $(jq -c '[.[].deviceId]' "$tmp/body")"; ok
[ -z "$(hdr x-ms-continuation)" ] || fail "continuation after the last page"; ok
call POST /devices/query '{"query":"SELECT COUNT() AS n FROM devices"}'; expect_status 200 "count"
[ "$(jq -c . "$tmp/body")" = '[{"n":3}]' ] || fail "count $(cat "$tmp/body")"; ok
call POST /devices/query '{"query":"SELECT * FROM devices WHERE"}'; expect_status 400 "query syntax error"
jq -r '.Message | fromjson | .message' "$tmp/body" | grep -q "line 1, column" || fail "syntax error position"; ok
call POST /devices/query '{"query":"SELECT * FROM devices"}' -H 'x-ms-max-item-count: 0'; expect_status 400 "page size 0"
auth="$rread" call POST /devices/query '{"query":"SELECT * FROM devices"}'; expect_status 200 "registryRead may query"

# --- direct methods -------------------------------------------------------------------------------------------
call POST /twins/dev1/methods '{"methodName":"reboot","payload":{},"responseTimeoutInSeconds":5}'
expect_status 404 "offline device"
[ "$(errcode)" = 404103 ] && [ "$(hdr iothub-errorcode)" = DeviceNotOnline ] || fail "404103"; ok
t0=$(date +%s%N)
call POST /twins/dev1/methods '{"methodName":"reboot","responseTimeoutInSeconds":5,"connectTimeoutInSeconds":1}'
t1=$(date +%s%N)
expect_status 404 "connect timeout"
[ $(((t1 - t0) / 1000000)) -ge 900 ] || fail "connectTimeoutInSeconds was not waited for"; ok
call POST /twins/nope/methods '{"methodName":"reboot"}'; expect_status 404 "unknown device"
[ "$(errcode)" = 404001 ] || fail "method on unknown device"; ok
call POST /twins/dev1/methods '{"methodName":"re boot"}'; expect_status 400 "bad method name"
call POST /twins/dev1/methods '{"methodName":"x","responseTimeoutInSeconds":1}'; expect_status 400 "timeout under 5"

# --- what a real MQTT client (mosquitto_sub) receives from the service side ------------------------------
"$SIMHUB" device add sub1 --db "$db" >/dev/null
subtok=$("$SIMHUB" cs sub1 --expiry 1h --db "$db")
mqtt=$(jq .mqtt "$tmp/ready.json")
mosquitto_sub -h 127.0.0.1 -p "$mqtt" -i sub1 -u "localhost/sub1/?api-version=2021-04-12" -P "$subtok" \
	-q 1 -t '$iothub/twin/PATCH/properties/desired/#' -t 'devices/sub1/messages/devicebound/#' \
	-v -C 2 -W 15 >"$tmp/sub.out" 2>"$tmp/sub.err" &
subpid=$!
# The C2D message is queued first and delivered when the SUBSCRIBE arrives; once its row is
# completed (the PUBACK came), the subscription (one SUBSCRIBE for both filters) is in place and
# the desired push, which is never queued, will reach the client.
call POST /devices/sub1/messages/deviceBound 'to-sub1' -H 'iothub-messageid: s1'; expect_status 204 "c2d for sub1"
for _ in $(seq 1 200); do
	[ "$(sqlite3 "$db" "select state from c2d_messages where device_id = 'sub1'")" = completed ] && break
	sleep 0.05
done
call PATCH /twins/sub1 '{"properties":{"desired":{"rate":9}}}' -H 'If-Match: "*"'; expect_status 200 "desired for sub1"
wait "$subpid" || fail "mosquitto_sub: $(cat "$tmp/sub.err") $(cat "$tmp/sub.out")"
grep -qx '$iothub/twin/PATCH/properties/desired/?$version=2 {"rate":9,"$version":2}' "$tmp/sub.out" ||
	fail "desired push seen by mosquitto_sub: $(cat "$tmp/sub.out")"; ok
grep -qE '^devices/sub1/messages/devicebound/%24.mid=s1&%24.to=%2Fdevices%2Fsub1%2Fmessages%2Fdevicebound.* to-sub1$' "$tmp/sub.out" ||
	fail "C2D seen by mosquitto_sub: $(cat "$tmp/sub.out")"; ok

# --- C2D injection ----------------------------------------------------------------------------------------------
call POST /devices/dev1/messages/deviceBound 'hello' -H 'iothub-messageid: m1' -H 'iothub-ack: full'
expect_status 204 "c2d send"
[ "$(sqlite3 "$db" "select json_extract(properties, '\$.sys.\"message-id\"') from c2d_messages where device_id = 'dev1' order by seq limit 1")" = m1 ] || fail "c2d message id"; ok
call POST /devices/dev1/messages/deviceBound 'with-props' -H 'iothub-app-Color: red' -H 'iothub-app-size: XL'
expect_status 204 "c2d send with app property headers"
[ "$(sqlite3 "$db" "select json_extract(properties, '\$.app') from c2d_messages where device_id = 'dev1' order by seq limit 1 offset 1")" = '{"color":"red","size":"XL"}' ] ||
	fail "c2d app properties: $(sqlite3 "$db" "select properties from c2d_messages where device_id = 'dev1'")"; ok
call POST /devices/dev1/messages/deviceBound 'x' -H 'iothub-ack: maybe'; expect_status 400 "bad ack"
head -c 70000 /dev/zero | tr '\0' 'a' >"$tmp/big"
call POST /devices/dev1/messages/deviceBound "$(cat "$tmp/big")"; expect_status 413 "c2d too large"
[ "$(errcode)" = 413001 ] || fail "413001"; ok
for _ in $(seq 3 50); do
	call POST /devices/dev1/messages/deviceBound 'q'; [ "$status" = 204 ] || fail "queueing: $status"
done
call POST /devices/dev1/messages/deviceBound 'q'; expect_status 403 "51st message"
[ "$(errcode)" = 403004 ] || fail "403004"; ok
call POST /devices/nope/messages/deviceBound 'q'; expect_status 404 "c2d to a missing device"

# --- wire details the Node service SDK (azure-iothub 1.16.6) depends on (tests/interop/registry.test.js) ------
# A refused policy is told which right the operation needs (the SDK shows the Message text).
auth="$rread" call PUT /devices/newdev '{"deviceId":"newdev"}'; expect_status 401 "registryRead cannot write (2)"
jq -r '.Message | fromjson | .message' "$tmp/body" | grep -q 'does not grant RegistryWrite$' ||
	fail "401 text names the right: $(cat "$tmp/body")"; ok
# Registry.updateDevices/removeDevices(devices, false) send the Device JSON as it is: its etag
# arrives as `etag`, not ExportImportDevice's `eTag`.
call PUT /devices/bk1 '{"deviceId":"bk1"}'; expect_status 200 "create bk1"
bk=$(jq -r .etag "$tmp/body")
call POST /devices '[{"id":"bk1","importMode":"updateIfMatchETag","etag":"'"$bk"'","status":"disabled"}]'
expect_status 200 "bulk update with a lower-case etag"
[ "$(jq -c '[.isSuccessful, (.errors | length)]' "$tmp/body")" = '[true,0]' ] || fail "bulk etag: $(cat "$tmp/body")"; ok
call POST /devices '[{"id":"bk1","importMode":"deleteIfMatchETag","etag":"'"$bk"'"}]'
expect_status 200 "bulk delete with a stale lower-case etag"
[ "$(jq -c '[.isSuccessful, .errors[0].errorCode]' "$tmp/body")" = '[false,412001]' ] || fail "stale bulk etag: $(cat "$tmp/body")"; ok

# --- error paths: expired token, unknown identities, bad JSON, oversize bodies ---------------------------
# An iothubowner token that expired a minute ago, signed like the SDKs sign (HMAC-SHA256 of sr\nse).
okey=$(sqlite3 "$db" "SELECT primary_key FROM access_policies WHERE name = 'iothubowner'")
sr=$(jq -rn --arg h "$(jq -r .host "$tmp/ready.json")" '$h|@uri')
se=$(( $(date +%s) - 60 ))
sig=$(printf '%s\n%s' "$sr" "$se" |
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf %s "$okey" | base64 -d | od -An -v -tx1 | tr -d ' \n')" -binary |
	base64 | jq -Rr @uri)
auth="SharedAccessSignature sr=$sr&sig=$sig&se=$se&skn=iothubowner" call GET /devices/dev1 ""
expect_status 401 "expired token"
[ "$(errcode)" = 401003 ] || fail "expired token body: $(cat "$tmp/body")"; ok
# The same token, still valid: proves the refusal above was the expiry, not the signing.
se2=$(( $(date +%s) + 600 ))
sig2=$(printf '%s\n%s' "$sr" "$se2" |
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf %s "$okey" | base64 -d | od -An -v -tx1 | tr -d ' \n')" -binary |
	base64 | jq -Rr @uri)
auth="SharedAccessSignature sr=$sr&sig=$sig2&se=$se2&skn=iothubowner" call GET /devices/dev1 ""
expect_status 200 "the same token signed for the future"
call GET /devices/ghost ""; expect_status 404 "get an unknown device"
[ "$(errcode)" = 404001 ] || fail "404001: $(cat "$tmp/body")"; ok
call GET /twins/ghost ""; expect_status 404 "twin of an unknown device"
[ "$(errcode)" = 404001 ] || fail "twin 404001: $(cat "$tmp/body")"; ok
call GET /devices/dev1/modules/ghost ""; expect_status 404 "get an unknown module"
[ "$(errcode)" = 404010 ] || fail "404010: $(cat "$tmp/body")"; ok
call PATCH /twins/ghost '{"tags":{"a":1}}'; expect_status 404 "patch the twin of an unknown device"
call POST /twins/ghost/methods '{"methodName":"m","responseTimeoutInSeconds":5}'
expect_status 404 "method on an unknown device"
call PUT /devices/badjson '{"deviceId":'; expect_status 400 "PUT a truncated device body"
[ "$(errcode)" = 400004 ] || fail "bad JSON errorCode: $(cat "$tmp/body")"; ok
call PUT /devices/badjson '[1,2]'; expect_status 400 "PUT a device body that is not an object"
call PUT /twins/dev1 '"just a string"'; expect_status 400 "PUT a twin that is not an object"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$tmp/huge"
call PUT /devices/huge "@$tmp/huge"; expect_status 413 "a body over 1 MiB"
[ "$(errcode)" = 413001 ] || fail "oversize body errorCode: $(cat "$tmp/body")"; ok
call GET /devices/dev1 ""; expect_status 200 "the hub still answers after the oversize body"

kill -TERM "$pid"; wait "$pid" || fail "serve did not stop cleanly"; pid=
echo "test_rest_service: $checks checks passed"
