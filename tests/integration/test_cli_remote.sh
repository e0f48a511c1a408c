#!/usr/bin/env bash
# test_cli_remote.sh: the client verbs of issue 4 against a real `simhub serve`: discovery (the
# ready file beside --db, --hub, a stale ready file, wrong --hub, a refused key, the wrong CA),
# registry verbs through the hub and on the file, twin patch-desired reaching a live MQTT device,
# c2d send reaching it, messages after real telemetry, query with paging, method invoke errors,
# and watch (against the hub's event stream, then a tiny fake SSE server that splits events and
# mixes line ends).
# The method answered by a live device is in check_cli_remote.c (it needs a libmosquitto client).
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in jq mosquitto_sub mosquitto_pub python3 openssl; do
	command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
tmp=$(mktemp -d)
pid= subpid= fakepid=
cleanup() {
	for p in $pid $subpid $fakepid; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
S=$SIMHUB
# run EXPECTED_RC CMD... -> stdout in $tmp/out, stderr in $tmp/err
run() {
	local want=$1; shift
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	set -e
	[ "$got" = "$want" ] || fail "$* -> exit $got (want $want): $(cat "$tmp/out" "$tmp/err")"
	ok
}
has_out() { grep -q -- "$1" "$tmp/out" || fail "stdout lacks '$1': $(cat "$tmp/out")"; ok; }
has_err() { grep -q -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"; ok; }

data="$tmp/data"
db="$data/hub.db"
ready="$data/simhub.ready.json"

# --- no hub yet: remote-only verbs say so; registry verbs use the file ------------------------------
run 0 "$S" device add dev1 --db "$db"
run 1 "$S" query "SELECT * FROM devices" --db "$db"
has_err "no hub is running"
run 1 "$S" method invoke dev1 reboot --db "$db"
has_err "no hub is running"
run 0 "$S" device list --db "$db"
has_out dev1

# --- start the hub --------------------------------------------------------------------------------
"$S" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/copy.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 200); do [ -s "$ready" ] && [ -s "$tmp/copy.json" ] && break; sleep 0.05; done
[ -s "$ready" ] || fail "no ready file beside the database: $(cat "$tmp/serve.err")"; ok
[ "$(stat -c %a "$ready")" = 600 ] || fail "ready file mode $(stat -c %a "$ready")"; ok
cmp -s "$ready" "$tmp/copy.json" || fail "--ready-file copy differs"; ok
url=$(jq -r .url "$ready"); ca=$(jq -r .ca "$ready"); svc=$(jq -r .service "$ready")
[[ $url == https://127.0.0.1:* ]] || fail "url $url"; ok
mqtt=$(jq .mqtt "$ready")

# --- registry verbs through the hub ------------------------------------------------------------------
# With --hub and no database file at all, only the hub can answer.
nodb="$tmp/none/x.db"
run 0 "$S" device add dev2 --db "$nodb" --hub "$url" --ca "$ca" --service-cs "$svc"
has_out "^dev2$"
has_out "etag:          MQ=="
[ ! -e "$nodb" ] || fail "device add through --hub created a database file"; ok
run 0 env SIMHUB_HUB="$url" SIMHUB_CA="$ca" SIMHUB_SERVICE_CS="$svc" "$S" device list --db "$nodb"
has_out "^dev1 "
has_out "^dev2 "
# Through the ready file: the same output as the file path.
run 0 "$S" device show dev1 --db "$db"
cp "$tmp/out" "$tmp/show.remote"
run 0 "$S" device show dev1 --db "$db" --json
[ "$(jq -r .deviceId "$tmp/out")" = dev1 ] || fail "show --json"; ok
run 0 "$S" device disable dev2 --reason lost --db "$db"
has_out "status:        disabled - lost"
run 0 "$S" device enable dev2 --db "$db"
has_out "status:        enabled"
run 0 "$S" module add dev2 m1 --managed-by IotEdge --db "$db"
has_out "^dev2/m1$"
run 0 "$S" module list dev2 --db "$db"
has_out "^m1 .*IotEdge"
run 1 "$S" device rm dev2 --if-match AAAA --db "$db"
has_err "412001 PreconditionFailed"
run 1 "$S" device show nope --db "$db"
has_err "404001 DeviceNotFound"
run 0 "$S" module rm dev2/m1 --db "$db"
run 0 "$S" device rm dev2 --db "$db"
run 1 "$S" device show dev2 --db "$db"
has_err "404001"

# --- wrong hub, wrong key, wrong CA ------------------------------------------------------------------
run 1 "$S" query "SELECT * FROM devices" --hub https://127.0.0.1:1 --ca "$ca" --service-cs "$svc"
has_err "no hub at https://127.0.0.1:1: is \`simhub serve\` running?"
run 2 "$S" query "SELECT * FROM devices" --hub http://127.0.0.1:1 --db "$db"
has_err "not a hub URL"
badsvc=$(sed 's/SharedAccessKey=[^;]*/SharedAccessKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=/' <<<"$svc")
run 1 "$S" query "SELECT * FROM devices" --db "$db" --service-cs "$badsvc"
has_err "401003 IotHubUnauthorized"
devpol=$("$S" cs --policy device --db "$db")
run 1 "$S" device list --db "$db" --service-cs "$devpol"
has_err "401003"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/other.key" -out "$tmp/other.pem" -days 1 \
	-subj /CN=other >/dev/null 2>&1
run 1 "$S" query "SELECT * FROM devices" --db "$db" --ca "$tmp/other.pem"
has_err "TLS failure"
run 1 "$S" query "SELECT * FROM devices" --db "$db" --service-cs "HostName=x"
has_err "SharedAccessKeyName"

# --- a live device: desired patch and C2D arrive -------------------------------------------------------
tok=$("$S" cs dev1 --expiry 1h --db "$db")
mosquitto_sub -h 127.0.0.1 -p "$mqtt" -i dev1 -u "localhost/dev1/?api-version=2021-04-12" -P "$tok" \
	-q 1 -t '$iothub/twin/PATCH/properties/desired/#' -t 'devices/dev1/messages/devicebound/#' \
	-v -C 2 -W 20 >"$tmp/sub.out" 2>"$tmp/sub.err" &
subpid=$!
for _ in $(seq 1 100); do
	"$S" device show dev1 --db "$db" | grep -q "connection:    Connected" && break; sleep 0.05
done
run 0 "$S" c2d send dev1 "hello device" --property color=red --message-id m-1 --ack full --ttl 1h --db "$db"
has_out "queued for dev1: message id m-1"
# The C2D row is completed once mosquitto_sub acks it: its subscription is then in place.
for _ in $(seq 1 100); do grep -q devicebound "$tmp/sub.out" && break; sleep 0.05; done
run 0 "$S" twin patch-desired dev1 '{"interval": 42}' --db "$db"
has_err "twin of dev1 updated"
wait "$subpid" || fail "mosquitto_sub: $(cat "$tmp/sub.err")"
subpid=
grep -q 'devices/dev1/messages/devicebound/.*color=red.* hello device' "$tmp/sub.out" ||
	fail "C2D not received: $(cat "$tmp/sub.out")"; ok
grep -q '\$iothub/twin/PATCH/properties/desired/?\$version=2 {"interval":42,"$version":2}' "$tmp/sub.out" ||
	fail "desired patch not received: $(cat "$tmp/sub.out")"; ok
run 0 "$S" twin get dev1 --db "$db"
[ "$(jq .properties.desired.interval "$tmp/out")" = 42 ] || fail "twin get"; ok
run 0 "$S" twin patch-tags dev1 '{"site":"lab","n":3}' --db "$db" --json
[ "$(jq -r .tags.site "$tmp/out")" = lab ] || fail "patch-tags --json"; ok
run 1 "$S" twin patch-desired dev1 '{"a":' --db "$db"
has_err "not valid JSON"
run 2 "$S" twin patch-desired dev1 '[1]' --db "$db"
run 1 "$S" twin patch-desired nope '{"a":1}' --db "$db"
has_err "404001 DeviceNotFound"
run 1 "$S" twin patch-tags dev1 '{"a":1}' --if-match '"AAAA"' --db "$db"
has_err "412"
run 1 "$S" c2d send nope hi --db "$db"
has_err "404001 DeviceNotFound"
run 2 "$S" c2d send dev1 hi --ack sometimes --db "$db"
run 2 "$S" c2d send dev1 hi --property novalue --db "$db"

# --- telemetry, then messages ---------------------------------------------------------------------------
for i in 1 2 3; do
	mosquitto_pub -h 127.0.0.1 -p "$mqtt" -i dev1 -u "localhost/dev1/?api-version=2021-04-12" -P "$tok" \
		-q 1 -t "devices/dev1/messages/events/kind=t$i" -m "{\"temp\":2$i}"
done
printf 'bin\001\377' | mosquitto_pub -h 127.0.0.1 -p "$mqtt" -i dev1 -u "localhost/dev1/?api-version=2021-04-12" \
	-P "$tok" -q 1 -t 'devices/dev1/messages/events/' -s
run 0 "$S" messages --db "$db"
[ "$(wc -l <"$tmp/out")" = 4 ] || fail "messages: $(cat "$tmp/out")"; ok
has_out 'dev1 .*{"temp":21}  \[kind=t1\]'
has_out 'base64:YmluAf8='
run 0 "$S" messages --db "$db" --property kind=t2 --json
[ "$(jq length "$tmp/out")" = 1 ] && [ "$(jq -r '.[0].body' "$tmp/out")" = '{"temp":22}' ] || fail "--property"; ok
run 0 "$S" messages --db "$db" --limit 2 --json
[ "$(jq length "$tmp/out")" = 2 ] || fail "--limit"; ok
run 0 "$S" messages --db "$db" --since 10m --device dev1
[ "$(wc -l <"$tmp/out")" = 4 ] || fail "--since 10m"; ok
run 0 "$S" messages --db "$db" --since 2999-01-01T00:00:00Z
[ ! -s "$tmp/out" ] || fail "--since in the future"; ok
has_err "(no messages)"
run 2 "$S" messages --db "$db" --since yesterday
run 2 "$S" messages --db "$db" --module m1
# --follow prints what arrives after it started
"$S" messages --db "$db" --follow --property kind=late >"$tmp/follow.out" 2>/dev/null &
fpid=$!
sleep 0.5
mosquitto_pub -h 127.0.0.1 -p "$mqtt" -i dev1 -u "localhost/dev1/?api-version=2021-04-12" -P "$tok" \
	-q 1 -t 'devices/dev1/messages/events/kind=late' -m "late"
for _ in $(seq 1 60); do grep -q late "$tmp/follow.out" && break; sleep 0.1; done
kill -INT "$fpid"; wait "$fpid" || true
grep -q 'dev1 .*late' "$tmp/follow.out" || fail "--follow: $(cat "$tmp/follow.out")"; ok

# --- query with paging -------------------------------------------------------------------------------------
for i in $(seq 1 5); do "$S" device add "q$i" --db "$db" >/dev/null; done
run 0 "$S" query "SELECT deviceId FROM devices WHERE STARTSWITH(deviceId, 'q')" --page-size 2 --db "$db" --json
[ "$(jq -c '[.[].deviceId] | sort' "$tmp/out")" = '["q1","q2","q3","q4","q5"]' ] ||
	fail "query paging: $(cat "$tmp/out")"; ok
run 0 "$S" query "SELECT deviceId, status FROM devices WHERE deviceId = 'q1'" --db "$db"
has_out "^deviceId  status$"
has_out "^q1        enabled$"
run 0 "$S" query "SELECT * FROM devices WHERE deviceId = 'dev1'" --db "$db"
has_out '"deviceId":"dev1"'
run 0 "$S" query "SELECT COUNT() AS n FROM devices" --db "$db" --json
[ "$(jq '.[0].n' "$tmp/out")" = 6 ] || fail "count: $(cat "$tmp/out")"; ok
run 1 "$S" query "SELEC * FROM devices" --db "$db"
has_err "400004 ArgumentInvalid: .*column"
run 2 "$S" query "SELECT * FROM devices" --page-size 0 --db "$db"

# --- method invoke errors (the answered call is in check_cli_remote.c) -------------------------------------
run 1 "$S" method invoke dev1 reboot --db "$db"
has_err "404103 DeviceNotOnline"
run 1 "$S" method invoke nope reboot --db "$db"
has_err "404001"
run 1 "$S" method invoke dev1 reboot --payload '{bad' --db "$db"
has_err "not valid JSON"
run 2 "$S" method invoke dev1 reboot --timeout 1 --db "$db"

# --- help is real ----------------------------------------------------------------------------------------
for v in "method invoke" "c2d send" "messages" "query" "watch" "twin patch-desired" "device list"; do
	# shellcheck disable=SC2086
	run 0 "$S" $v --help
	has_out "--hub URL"
done

# --- watch ---------------------------------------------------------------------------------------------------
# The files are emptied here, before the background start: a redirection in the background job
# would race with the caller's first look and let it read the previous watch's output.
run_watch() {
	: >"$tmp/watch.out"
	: >"$tmp/watch.err"
	"$S" watch "$@" >>"$tmp/watch.out" 2>>"$tmp/watch.err" &
	wpid=$!
}
# against the hub's /simhub/v1/events
run_watch --db "$db" --json
# --json prints nothing until an event comes, so publish until the watch shows one (a slow
# start would otherwise miss a single message sent after a fixed pause)
for _ in $(seq 1 10); do
	mosquitto_pub -h 127.0.0.1 -p "$mqtt" -i dev1 -u "localhost/dev1/?api-version=2021-04-12" \
		-P "$tok" -q 1 -t 'devices/dev1/messages/events/' -m "watched"
	for _ in $(seq 1 10); do grep -q dev1 "$tmp/watch.out" && break 2; sleep 0.1; done
done
kill -INT "$wpid"; wait "$wpid" || fail "watch exit: $(cat "$tmp/watch.err")"
jq -e 'select(.deviceId == "dev1")' "$tmp/watch.out" >/dev/null || fail "watch: $(cat "$tmp/watch.out")"; ok
# The fake server: TLS with a certificate from our own CA, one request, a scripted stream.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/fca.key" -out "$tmp/fca.pem" -days 1 \
	-subj /CN=fakeca -addext basicConstraints=critical,CA:TRUE >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$tmp/fsrv.key" -out "$tmp/fsrv.csr" -subj /CN=127.0.0.1 \
	>/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/fsrv.csr" -CA "$tmp/fca.pem" -CAkey "$tmp/fca.key" -CAcreateserial \
	-out "$tmp/fsrv.pem" -days 1 -extfile "$tmp/ext" >/dev/null 2>&1
cat >"$tmp/fake.py" <<'EOF'
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
open(sys.argv[3], "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
t = ctx.wrap_socket(c, server_side=True)
req = b""
while b"\r\n\r\n" not in req:
    req += t.recv(4096)
open(sys.argv[4], "wb").write(req)
t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n")
evs = [b": keepalive\n\n",
       b'id: 1\nevent: telemetry\ndata: {"id":1,"type":"telemetry","time":"2025-04-01T10:00:00.0000000Z","deviceId":"dev1","body":"hi"}\n\n',
       b'id: 2\r\nevent: twin\r\ndata: {"id":2,"type":"twin","time":"2025-04-01T10:00:01.0000000Z",\r\ndata: "deviceId":"dev2","moduleId":"m1","version":3}\r\n\r\n',
       b'id: 3\nevent: connection\ndata: {"id":3,"type":"connection","time":"2025-04-01T10:00:02.0000000Z","deviceId":"dev1","event":"connect"}\n\n']
for e in evs:
    # split every event in two writes: the client must reassemble
    t.sendall(e[:7]); time.sleep(0.05); t.sendall(e[7:]); time.sleep(0.05)
time.sleep(30)
EOF
python3 "$tmp/fake.py" "$tmp/fsrv.pem" "$tmp/fsrv.key" "$tmp/fport" "$tmp/freq" &
fakepid=$!
for _ in $(seq 1 100); do [ -s "$tmp/fport" ] && break; sleep 0.05; done
fport=$(cat "$tmp/fport")
run_watch --hub "https://127.0.0.1:$fport" --ca "$tmp/fca.pem" --service-cs "$svc" --types telemetry,twin
# the fake server sends the connection event (filtered out by --types) 0.1 s after the twin
for _ in $(seq 1 100); do grep -q ' twin ' "$tmp/watch.out" && break; sleep 0.1; done
sleep 0.5
kill -INT "$wpid"; wait "$wpid" || fail "watch exit: $(cat "$tmp/watch.err")"
grep -q '^GET /simhub/v1/events?types=telemetry%2Ctwin&api-version=' "$tmp/freq" || fail "request: $(cat "$tmp/freq")"; ok
grep -qi '^authorization: SharedAccessSignature sr=localhost&sig=' "$tmp/freq" || fail "no SAS: $(cat "$tmp/freq")"; ok
[ "$(wc -l <"$tmp/watch.out")" = 2 ] || fail "watch lines: $(cat "$tmp/watch.out")"; ok
grep -q ' telemetry  *dev1  *{"body":"hi"}$' "$tmp/watch.out" || fail "telemetry line: $(cat "$tmp/watch.out")"; ok
grep -q ' twin  *dev2/m1  *{"version":3}$' "$tmp/watch.out" || fail "twin line: $(cat "$tmp/watch.out")"; ok
kill "$fakepid" 2>/dev/null || true; wait "$fakepid" 2>/dev/null || true; fakepid=
# the fake server is gone: watch says there is no hub
run 1 "$S" watch --hub "https://127.0.0.1:$fport" --ca "$tmp/fca.pem" --service-cs "$svc"
has_err "no hub at"

# --- stale ready file, then a clean stop removes it ----------------------------------------------------
kill -TERM "$pid"; wait "$pid" || fail "serve exit"; pid=
[ ! -e "$ready" ] || fail "ready file left after a clean exit"; ok
# A ready file whose hub is gone (as after kill -9): remote-only verbs say so, registry verbs use the file.
cp "$tmp/copy.json" "$ready"
run 1 "$S" query "SELECT * FROM devices" --db "$db"
has_err "no hub is running: the ready file .* does not answer"
run 0 "$S" device list --db "$db"
has_out "^q5 "
run 0 "$S" twin patch-desired dev1 '{"interval": 7}' --db "$db"
run 0 "$S" twin show dev1 --db "$db"
[ "$(jq .properties.desired.interval "$tmp/out")" = 7 ] || fail "file twin"; ok

echo "test_cli_remote: $checks checks passed"
