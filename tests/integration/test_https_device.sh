#!/usr/bin/env bash
# test_https_device.sh: the HTTPS device API of a real `simhub serve` (iothub-protocol.md §7), with
# curl and openssl s_client and tokens from `simhub cs DEV --expiry`: telemetry with the Node SDK's
# headers (node-sdk-device-https.md) stored under the canonical names (checked in SQLite through
# d2c_messages_view), chunked bodies (one chunk as curl and Node send them, several chunks with
# extensions and a trailer, bad framing), Content-Length bodies on a kept-alive connection, the
# batch form (Node's base64 and the C SDK's base64Encoded:false, all-or-nothing), module
# telemetry, 413001, refused tokens (401003), and the C2D cycle: 204 when empty, 200 with a quoted
# ETag and the exact iothub-* header names, complete, complete again (412002), abandon and
# receive again (delivery count 1), reject, and properties that cannot be headers left out.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in curl jq openssl sqlite3 timeout; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool"; exit 1; }
done
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
port=$(jq .https "$tmp/ready.json")
base="https://localhost:$port"
ca=$(jq -r .ca "$tmp/ready.json")
owner=$(hub cs --policy iothubowner --expiry 1h)
dev1=$(hub cs dev1 --expiry 1h)
dev2=$(hub cs dev2 --expiry 1h)
mod1=$(hub cs dev1/mod1 --expiry 1h)
svc=$(hub cs --policy service --expiry 1h)
devpol=$(hub cs --policy device --expiry 1h)
api='api-version=2021-04-12'

# call METHOD PATH [curl args...]: $auth (default dev1's token; set but empty: no header) ->
# status in $status, body in $tmp/body, headers in $tmp/hdr
call() {
	local m=$1 p=$2; shift 2
	local args=(-s --cacert "$ca" -X "$m" -D "$tmp/hdr" -o "$tmp/body" -w '%{http_code}')
	local a=${auth-$dev1}
	[ -n "$a" ] && args+=(-H "Authorization: $a")
	local sep='?'
	case $p in *\?*) sep='&' ;; esac
	status=$(curl "${args[@]}" "$@" "$base$p$sep$api")
}
expect_status() { [ "$status" = "$1" ] || fail "$2: status $status, body $(cat "$tmp/body")"; ok; }
errcode() { jq -r '.Message | fromjson | .errorCode' "$tmp/body"; }
# hdr NAME: the value of header NAME, matched case-SENSITIVELY (the C SDK compares that way)
hdr() { grep "^$1:" "$tmp/hdr" | sed 's/^[^:]*: *//; s/\r$//'; }
sql() { sqlite3 -readonly "$db" "$1"; }
# last_row [DEVICE]: the newest d2c_messages_view row as JSON
last_row() { sqlite3 -readonly -json "$db" "SELECT * FROM d2c_messages_view ORDER BY seq DESC LIMIT 1" | jq '.[0]'; }
rows() { sql "SELECT count(*) FROM d2c_messages"; }
events=/devices/dev1/messages/events

# --- telemetry: Node's sendEvent, headers as in the trace, chunked as Node sends it -----------------
call POST $events -H 'iothub-to: /devices/dev1/messages/events' \
	-H 'User-Agent: azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)' \
	-H 'iothub-app-alert: high' -H 'iothub-app-unit: deg C & more' -H 'dt-subject: thermostat1' \
	-H 'IoTHub-MessageId: msg-h1' -H 'IoTHub-CorrelationId: corr-h1' \
	-H 'iothub-contenttype: application/json' -H 'iothub-contentencoding: utf-8' \
	-H 'iothub-interface-id: urn:azureiot:Security:SecurityAgent:1' \
	-H 'Transfer-Encoding: chunked' --data-binary '{"temperature":21.5}'
expect_status 204 "Node sendEvent"
grep -qi '^connection: close' "$tmp/hdr" || fail "a chunked request's answer closes the connection"; ok
last_row >"$tmp/row"
[ "$(jq -r '.device_id + "|" + .module_id + "|" + .message_id + "|" + .content_type + "|" + .content_encoding + "|" + .interface_id' "$tmp/row")" = \
  "dev1||msg-h1|application/json|utf-8|urn:azureiot:Security:SecurityAgent:1" ] || fail "columns: $(cat "$tmp/row")"; ok
[ "$(jq -r .body_text "$tmp/row")" = '{"temperature":21.5}' ] || fail "body: $(cat "$tmp/row")"; ok
[ "$(jq -c '.app_properties | fromjson' "$tmp/row")" = '{"alert":"high","unit":"deg C & more"}' ] ||
	fail "app properties: $(cat "$tmp/row")"; ok
jq -e '.system_properties | fromjson | ."message-id" == "msg-h1" and ."correlation-id" == "corr-h1" and
	."dt-subject" == "thermostat1" and .to == "/devices/dev1/messages/events" and
	."iothub-content-type" == "application/json" and ."iothub-content-encoding" == "utf-8" and
	."iothub-interface-id" == "urn:azureiot:Security:SecurityAgent:1" and
	."iothub-connection-device-id" == "dev1" and (."iothub-enqueuedtime" | test("Z$")) and
	(has("iothub-connection-module-id") | not)' "$tmp/row" >/dev/null || fail "system properties: $(cat "$tmp/row")"; ok

# --- Content-Length bodies on one kept-alive connection: no header leaks into the next request ----
n0=$(rows)
conns=$(curl -s --cacert "$ca" -o /dev/null -w '%{http_code}/%{num_connects} ' -H "Authorization: $dev1" \
	-H 'iothub-app-only-first: 1' -H 'IOTHUB-APP-Mixed: Case' -H 'iothub-messageid: ka-1' \
	--data-binary 'first' "$base$events?$api" \
	--next -s --cacert "$ca" -o /dev/null -w '%{http_code}/%{num_connects}' -H "Authorization: $dev1" \
	--data-binary '' "$base$events?$api" || true)
[ "$conns" = "204/1 204/0" ] || fail "keep-alive: $conns (status/new connections per request)"; ok
[ "$(rows)" = $((n0 + 2)) ] || fail "two rows: $n0 then $(rows): $(sql "SELECT seq, message_id, body_bytes FROM d2c_messages_view")"; ok
[ "$(sql "SELECT app_properties || '|' || body_text FROM d2c_messages_view WHERE message_id = 'ka-1'")" = \
  '{"only-first":"1","mixed":"Case"}|first' ] || fail "first keep-alive request"; ok
last_row >"$tmp/row"
[ "$(jq -r '.app_properties + "|" + (.body_bytes | tostring) + "|" + (.message_id // "none")' "$tmp/row")" = '{}|0|none' ] ||
	fail "second keep-alive request got the first one's headers: $(cat "$tmp/row")"; ok

# --- chunked framing by hand: several chunks, extensions, a trailer; bad framing ---------------------
# raw REQUEST: send over TLS, print the answer (simhub closes after a chunked request)
raw() { printf '%b' "$1" | timeout 10 openssl s_client -quiet -ign_eof -connect "localhost:$port" \
	-servername localhost -CAfile "$ca" 2>/dev/null | tr -d '\r' || true; }
head_lines="POST $events?$api HTTP/1.1\r\nHost: localhost\r\nAuthorization: $dev1\r\niothub-messageid: raw-1\r\nTransfer-Encoding: chunked\r\n\r\n"
raw "${head_lines}5;name=\"v;x\"\r\nhello\r\n1 ;a\r\n \r\n00005\r\nworld\r\n0;last\r\nX-Checksum: 12ab\r\n\r\n" >"$tmp/raw"
head -1 "$tmp/raw" | grep -q '^HTTP/1.1 204' || fail "multi-chunk body: $(cat "$tmp/raw")"; ok
[ "$(sql "SELECT body_text FROM d2c_messages_view WHERE message_id = 'raw-1'")" = "hello world" ] || fail "multi-chunk body stored"; ok
n0=$(rows)
raw "${head_lines}5\r\nhelloX\r\n0\r\n\r\n" >"$tmp/raw"
head -1 "$tmp/raw" | grep -q '^HTTP/1.1 400' || fail "chunk longer than announced: $(cat "$tmp/raw")"; ok
raw "${head_lines}zz\r\n" >"$tmp/raw"
head -1 "$tmp/raw" | grep -q '^HTTP/1.1 400' || fail "size not hex: $(cat "$tmp/raw")"; ok
raw "${head_lines}fffffffff\r\n" >"$tmp/raw"
head -1 "$tmp/raw" | grep -q '^HTTP/1.1 413' || fail "chunk size over the limit: $(cat "$tmp/raw")"; ok
[ "$(rows)" = "$n0" ] || fail "bad framing stored something"; ok

# --- batch: Node's form (trace), then the C SDK's base64Encoded:false --------------------------------
n0=$(rows)
call POST $events -H 'Content-Type: application/vnd.microsoft.iothub.json' -H 'Transfer-Encoding: chunked' \
	--data-binary '[{"body": "b25l", "properties":{"iothub-app-k":"v"}},{"body": "dHdv"}]'
expect_status 204 "Node sendEventBatch"
[ "$(sql "SELECT group_concat(body_text || '=' || app_properties, ' ') FROM d2c_messages_view WHERE seq > (SELECT max(seq) - 2 FROM d2c_messages)")" = \
  'one={"k":"v"} two={}' ] || fail "Node batch rows"; ok
call POST $events -H 'Content-Type: application/vnd.microsoft.iothub.json' \
	--data-binary '[{"body":"{\"a\":1}","base64Encoded":false,"properties":{"iothub-app-x":"y","iothub-messageid":"c-1","dt-subject":"comp"}},{"body":"aGk=","base64Encoded":true}]'
expect_status 204 "C SDK batch"
[ "$(rows)" = $((n0 + 4)) ] || fail "four batch rows"; ok
[ "$(sql "SELECT body_text || '|' || app_properties || '|' || json_extract(system_properties, '$.dt-subject') FROM d2c_messages_view WHERE message_id = 'c-1'")" = \
  '{"a":1}|{"x":"y"}|comp' ] || fail "C batch item"; ok
[ "$(last_row | jq -r .body_text)" = hi ] || fail "base64Encoded:true item"; ok
n0=$(rows)
call POST $events -H 'Content-Type: application/vnd.microsoft.iothub.json' --data-binary '[{"body":"b25l"},{"body":"!!!"}]'
expect_status 400 "a batch item that is not base64"
[ "$(errcode)" = 400004 ] || fail "400004 for a bad batch"; ok
call POST $events -H 'Content-Type: application/vnd.microsoft.iothub.json' --data-binary '[]'
expect_status 400 "an empty batch"
call POST $events -H 'Content-Type: application/vnd.microsoft.iothub.json' --data-binary '{"body":"b25l"}'
expect_status 400 "a batch that is not an array"
[ "$(rows)" = "$n0" ] || fail "a refused batch stored part of itself"; ok

# --- module telemetry ----------------------------------------------------------------------------------
auth=$mod1 call POST /devices/dev1/modules/mod1/messages/events -H 'iothub-app-m: yes' --data-binary 'from module'
expect_status 204 "module telemetry"
last_row >"$tmp/row"
[ "$(jq -r '.module_id + "|" + .body_text + "|" + .app_properties' "$tmp/row")" = 'mod1|from module|{"m":"yes"}' ] ||
	fail "module row: $(cat "$tmp/row")"; ok
[ "$(jq -r '.system_properties | fromjson | ."iothub-connection-module-id"' "$tmp/row")" = mod1 ] || fail "module stamp"; ok

# --- size limit ------------------------------------------------------------------------------------------
n0=$(rows)
head -c 262145 /dev/zero | tr '\0' x >"$tmp/big"
call POST $events --data-binary @"$tmp/big"
expect_status 413 "a message over 256 KB"
[ "$(errcode)" = 413001 ] && [ "$(hdr iothub-errorcode)" = MessageTooLarge ] || fail "413001"; ok
head -c 262000 /dev/zero | tr '\0' x >"$tmp/big"
call POST $events -H "iothub-app-pad: $(head -c 200 /dev/zero | tr '\0' p)" --data-binary @"$tmp/big"
expect_status 413 "body and properties over 256 KB"
head -c 200000 /dev/zero | tr '\0' x >"$tmp/big"
call POST $events --data-binary @"$tmp/big"
expect_status 204 "a message under 256 KB"
[ "$(rows)" = $((n0 + 1)) ] || fail "only the message under the limit is stored"; ok

# --- refused tokens ------------------------------------------------------------------------------------------
n0=$(rows)
auth="" call POST $events --data-binary x; expect_status 401 "no Authorization"
[ "$(errcode)" = 401003 ] && [ "$(hdr iothub-errorcode)" = IotHubUnauthorized ] || fail "401003"; ok
grep -qi '^content-type: application/json; charset=utf-8' "$tmp/hdr" || fail "error content type"; ok
auth=$(echo "$dev1" | sed 's/sig=[^&]*/sig=AAAA/') call POST $events --data-binary x; expect_status 401 "wrong signature"
auth=$dev2 call POST $events --data-binary x; expect_status 401 "another device's token"
auth=$dev1 call POST /devices/dev1/modules/mod1/messages/events --data-binary x; expect_status 401 "a device token for its module"
auth=$svc call POST $events --data-binary x; expect_status 401 "a policy token without DeviceConnect"
auth=$dev1 call POST /devices/nodev/messages/events --data-binary x; expect_status 401 "an unknown device"
auth=$dev2 call GET /devices/dev1/messages/devicebound; expect_status 401 "another device's C2D"
[ "$(rows)" = "$n0" ] || fail "a refused request stored telemetry"; ok
# A policy with DeviceConnect may speak for any device (§1.3: sr = the hub covers its devices).
auth=$devpol call POST $events -H 'iothub-messageid: via-policy' --data-binary x; expect_status 204 "the device policy's token"
[ "$(last_row | jq -r .message_id)" = via-policy ] || fail "policy-signed telemetry stored"; ok

# --- C2D: receive, complete, abandon, reject ----------------------------------------------------------
bound=/devices/dev1/messages/devicebound
call GET $bound; expect_status 204 "empty queue"
[ ! -s "$tmp/body" ] || fail "204 with a body"; ok
# queue SPEC: the service's injection endpoint in its envelope form, with the iothubowner token
queue() { auth=$owner call POST /devices/dev1/messages/deviceBound -H 'Content-Type: application/vnd.microsoft.iothub.json' --data-binary "$1"
	expect_status 204 "queue $1"; }
queue '{"body":"hello over http","properties":{"iothub-messageid":"c2d-1","iothub-correlationid":"corr-9","iothub-ack":"full","iothub-contenttype":"application/json","iothub-contentencoding":"utf-8","iothub-app-color":"green"}}'
call GET $bound; expect_status 200 "receive"
[ "$(cat "$tmp/body")" = "hello over http" ] || fail "C2D body"; ok
etag=$(hdr ETag)
[[ $etag =~ ^\"[^\"]+\"$ ]] || fail "ETag must be quoted: '$etag'"; ok
lock=${etag:1:${#etag}-2}
for h in "iothub-messageid=c2d-1" "iothub-correlationid=corr-9" "iothub-ack=full" \
	 "iothub-to=/devices/dev1/messages/devicebound" "iothub-deliverycount=0" "iothub-app-color=green" \
	 "ContentType=application/json" "ContentEncoding=utf-8"; do
	[ "$(hdr "${h%%=*}")" = "${h#*=}" ] || fail "header ${h%%=*}: '$(hdr "${h%%=*}")' in $(cat "$tmp/hdr")"; ok
done
[[ $(hdr iothub-sequencenumber) =~ ^[0-9]+$ ]] || fail "iothub-sequencenumber"; ok
[[ $(hdr iothub-enqueuedtime) =~ ^20[0-9-]+T[0-9:.]+Z$ ]] || fail "iothub-enqueuedtime"; ok
[[ $(hdr iothub-expiry) =~ ^20[0-9-]+T[0-9:.]+Z$ ]] || fail "iothub-expiry"; ok
grep -qi '^content-type: application/octet-stream' "$tmp/hdr" || fail "C2D body content type"; ok
call GET $bound; expect_status 204 "a locked message is not delivered twice"
call DELETE "$bound/$lock" -H "If-Match: $lock"; expect_status 204 "complete (Node: If-Match unquoted)"
call DELETE "$bound/$lock"; expect_status 412 "complete again"
[ "$(errcode)" = 412002 ] && [ "$(hdr iothub-errorcode)" = DeviceMessageLockLost ] || fail "412002"; ok
call POST "$bound/no-such-lock/abandon" -H 'Content-Length: 0'; expect_status 412 "abandon an unknown lock"
queue '{"body":"second","properties":{"iothub-messageid":"m2"}}'
queue '{"body":"third","properties":{"iothub-messageid":"m3"}}'
call GET $bound; expect_status 200 "receive m2"
[ "$(hdr iothub-messageid)" = m2 ] || fail "oldest first"; ok
etag=$(hdr ETag); lock=${etag:1:${#etag}-2}
call POST "$bound/$lock/abandon" -H "If-Match: $lock" -H 'Content-Length: 0'; expect_status 204 "abandon"
call GET /devices/dev1/messages/deviceBound; expect_status 200 "receive m2 again (docs' casing)"
[ "$(hdr iothub-messageid)/$(hdr iothub-deliverycount)" = m2/1 ] || fail "abandoned message: $(cat "$tmp/hdr")"; ok
etag=$(hdr ETag); lock2=${etag:1:${#etag}-2}
[ "$lock2" != "$lock" ] || fail "a new lock for a new delivery"; ok
call DELETE "$bound/$lock2?reject"; expect_status 204 "reject"
call GET $bound; expect_status 200 "receive m3"
[ "$(hdr iothub-messageid)" = m3 ] || fail "m3 after m2 was rejected"; ok
etag=$(hdr ETag); lock=${etag:1:${#etag}-2}
call DELETE "/devices/dev1/messages/deviceBound/$lock"; expect_status 204 "complete m3"
call GET $bound; expect_status 204 "queue drained"
[ "$(sql "SELECT group_concat(message_id || '=' || state, ' ') FROM (SELECT * FROM c2d_messages ORDER BY seq)")" = \
  "c2d-1=completed m2=deadlettered m3=completed" ] || fail "queue states: $(sql 'SELECT * FROM c2d_messages')"; ok
auth=$mod1 call GET /devices/dev1/modules/mod1/messages/devicebound; expect_status 404 "modules get no C2D over HTTPS"

# --- properties that cannot be headers are left out, the rest still arrives ----------------------------
queue '{"body":"x","properties":{"iothub-messageid":"bad\r\nX-Injected: 1","iothub-app-bad name":"1","iothub-app-crlf":"a\r\nX-Injected: 2","iothub-app-fine":"yes"}}'
call GET $bound; expect_status 200 "receive a message with odd properties"
! grep -qi '^x-injected' "$tmp/hdr" || fail "a property value split the header block: $(cat "$tmp/hdr")"; ok
! grep -q '^iothub-app-bad' "$tmp/hdr" && ! grep -q '^iothub-messageid' "$tmp/hdr" && ! grep -q '^iothub-app-crlf' "$tmp/hdr" ||
	fail "unsafe headers were sent: $(cat "$tmp/hdr")"; ok
[ "$(hdr iothub-app-fine)" = yes ] || fail "the safe property is still sent"; ok

kill "$pid"
wait "$pid" || fail "simhub exited with $? on SIGTERM"
pid=
echo "test_https_device: $checks checks passed"
