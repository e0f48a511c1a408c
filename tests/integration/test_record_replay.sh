#!/usr/bin/env bash
# test_record_replay.sh: `simhub serve --record` then `fleet replay`. Hub A (demo fixtures)
# records real clients: the reference agent (secagent --synthetic --once, two modules over TLS)
# and mosquitto_pub (telemetry with properties, a binary body and a reported patch over plain
# MQTT). Hub B, fresh with the same fixtures, gets the journal replayed at --speed 10 --check:
# messages per identity and reported versions equal A's; then --clone 3 gives three times
# A's messages under the clone ids, with --check passing. Hub C records what the hub sends a
# device (desired patch, method request and the device's answer, C2D and its settlement) while
# `fleet replay` plays the device; the shipped fixtures/recordings/secagent-demo.jsonl replays
# on it with --check. An unwritable --record path stops serve with exit 1.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}" "${SIMHUB_SOURCE_DIR:?}"
for tool in jq sqlite3 mosquitto_pub timeout; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool"; exit 1; }
done
AGENT="$SIMHUB_BUILD_DIR/agents/secagent/secagent"
FLEET="$SIMHUB_BUILD_DIR/agents/fleet/fleet"
[ -x "$AGENT" ] && [ -x "$FLEET" ] || { echo "FAIL: secagent or fleet not built"; exit 1; }
FIX="$SIMHUB_SOURCE_DIR/fixtures/demo"
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
HOST=simhub.azure-devices.net
API="api-version=2021-04-12"

# start NAME [serve options...]: a hub on free ports with the demo fixtures; sets pid, R
start() {
	local n=$1
	shift
	mkdir -p "$tmp/$n"
	"$SIMHUB" serve --db "$tmp/$n/hub.db" --fixtures "$FIX" --mqtt-port 0 --mqtts-port 0 \
		--https-port 0 --ready-file "$tmp/$n/ready.json" "$@" >"$tmp/$n/serve.out" 2>"$tmp/$n/serve.err" &
	pid=$!
	for _ in $(seq 1 200); do [ -s "$tmp/$n/ready.json" ] && break; sleep 0.05; done
	[ -s "$tmp/$n/ready.json" ] || fail "hub $n did not start: $(cat "$tmp/$n/serve.err")"
	R="$tmp/$n/ready.json"
}
stop() {
	kill -TERM "$pid"
	wait "$pid" || fail "serve exited $?: $(cat "$tmp/$1/serve.err")"
	pid=
}
# counts N: "identity count" per line, identities in order, from hub N's database
counts() {
	sqlite3 -separator ' ' "$tmp/$1/hub.db" "SELECT device_id || '/' || module_id, count(*)
		FROM d2c_messages GROUP BY 1 ORDER BY 1"
}
reported_version() {   # N IDENTITY: the reported $version, from the stopped hub's database
	"$SIMHUB" twin show "$2" --db "$tmp/$1/hub.db" --json | jq '.properties.reported["$version"]'
}
replay() {   # JOURNAL OUT [fleet options...] against the hub of $R
	local j=$1 o=$2
	shift 2
	"$FLEET" replay "$j" --host localhost --port "$(jq .mqtts "$R")" --ca "$(jq -r .ca "$R")" \
		--https-port "$(jq .https "$R")" --hub-host "$(jq -r .host "$R")" \
		--service-cs "$(jq -r .service "$R")" --create "$@" >"$o.out" 2>"$o.err" ||
		fail "replay $j: $(cat "$o.out" "$o.err")"
}

# --- refusal: a journal that cannot be written ----------------------------------------------------
set +e
"$SIMHUB" serve --db "$tmp/x.db" --mqtt-port 0 --mqtts-port 0 --https-port 0 \
	--record "$tmp/no/such/dir/j.jsonl" >/dev/null 2>"$tmp/x.err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "cannot write the journal $tmp/no/such/dir/j.jsonl: No such file" "$tmp/x.err" ||
	fail "unwritable --record: exit $rc, $(cat "$tmp/x.err")"; ok
"$SIMHUB" serve --help | grep -q -- '--record FILE' || fail "serve --help lacks --record"; ok

# --- A: record real clients ------------------------------------------------------------------------
start a --record "$tmp/a.jsonl"
ca=$(jq -r .ca "$R")
for n in 1 2; do
	timeout 60 "$AGENT" --once --synthetic "$n" -c "$("$SIMHUB" cs "demo-device-0$n/azureiotsecurity" --db "$tmp/a/hub.db")" \
		--ca "$ca" --host localhost --mqtts-port "$(jq .mqtts "$R")" 2>"$tmp/agent$n.log" ||
		fail "secagent $n: $(cat "$tmp/agent$n.log")"
done
tok=$("$SIMHUB" cs demo-device-01 --expiry 1h --db "$tmp/a/hub.db")
pub() { mosquitto_pub -h 127.0.0.1 -p "$(jq .mqtt "$R")" -i demo-device-01 -u "$HOST/demo-device-01/?$API" \
	-P "$tok" -q 1 "$@"; }
for i in 1 2 3; do
	pub -t "devices/demo-device-01/messages/events/%24.mid=m$i&%24.ct=application%2Fjson&kind=t$i" -m "{\"temp\":2$i}"
done
printf 'bin\001\377' | pub -t 'devices/demo-device-01/messages/events/' -s
pub -t '$iothub/twin/PATCH/properties/reported/?$rid=7' -m '{"firmwareVersion":"1.3.0"}'
# mosquitto_pub exits once its DISCONNECT is written; on a busy machine the hub may not have
# read it yet. Stop the hub only when the journal shows every client gone (7 disconnects: two
# agents, five mosquitto_pub runs), else a shutdown would end the last session instead.
for _ in $(seq 1 200); do
	[ "$(grep -c '"op":"disconnect"' "$tmp/a.jsonl" || true)" -ge 7 ] && break
	sleep 0.05
done
stop a
grep -q 'journal .*a.jsonl: [0-9]* lines' "$tmp/a/serve.err" || fail "no journal summary: $(cat "$tmp/a/serve.err")"; ok

# what the journal holds
J="$tmp/a.jsonl"
head -1 "$J" | jq -e '.simhubJournal == 1 and .hub == "simhub.azure-devices.net" and (.started | test("Z$"))' \
	>/dev/null || fail "header: $(head -1 "$J")"; ok
tail -n +2 "$J" | jq -se 'map(.t) as $t | $t == ($t | sort) and ($t[0] >= 0)' >/dev/null ||
	fail "t goes back in time"; ok
ops() { tail -n +2 "$J" | jq -r "select($1) | .op" | sort | uniq -c | tr -s ' ' | tr '\n' ';'; }
m1='.device == "demo-device-01" and .module == "azureiotsecurity"'
[ "$(ops "$m1")" = " 1 connect; 1 disconnect; 1 telemetry; 1 twin.get; 1 twin.reported;" ] ||
	fail "agent 1 ops: $(ops "$m1")"; ok
jq -se 'map(select(.module == "azureiotsecurity" and .op == "connect"))
	| length == 2 and all(.transport == "mqtt" and .keepAlive > 0)' "$J" >/dev/null || fail "connect lines"; ok
jq -se 'map(select(.module == "azureiotsecurity" and .op == "telemetry"))
	| all(.systemProperties["iothub-interface-id"] == "urn:azureiot:Security:SecurityAgent:1"
	      and (.systemProperties | has("iothub-enqueuedtime") | not)
	      and (.body | fromjson | .Events | length > 0))' "$J" >/dev/null || fail "security telemetry lines"; ok
jq -se 'map(select(.module == "azureiotsecurity" and .op == "twin.reported"))
	| all(.status == 204 and .version > 0 and (.patch | has("ms_iotn:urn_azureiot_Security_SecurityAgentConfiguration")))' \
	"$J" >/dev/null || fail "reported lines"; ok
jq -se 'map(select(.module == "azureiotsecurity" and .op == "twin.get")) | all(.status == 200 and (.rid | length > 0))' \
	"$J" >/dev/null || fail "twin.get lines"; ok
d1='.device == "demo-device-01" and (has("module") | not)'
[ "$(ops "$d1")" = " 5 connect; 5 disconnect; 4 telemetry; 1 twin.reported;" ] || fail "device ops: $(ops "$d1")"; ok
jq -se 'map(select(.device == "demo-device-01" and .op == "telemetry" and (has("module") | not))) |
	.[0].systemProperties == {"message-id":"m1","iothub-content-type":"application/json"} and
	.[0].properties == {"kind":"t1"} and .[0].body == "{\"temp\":21}" and
	.[3].body == "YmluAf8=" and .[3].bodyEncoding == "base64"' "$J" >/dev/null ||
	fail "mosquitto telemetry lines: $(grep -v azureiotsecurity "$J" | grep telemetry)"; ok
jq -se 'map(select(.device == "demo-device-01" and .op == "twin.reported" and (has("module") | not)))[0] |
	.rid == "7" and .patch == {"firmwareVersion":"1.3.0"} and .status == 204' "$J" >/dev/null ||
	fail "reported patch line"; ok
jq -se 'map(select(.op == "disconnect")) | all(.reason == "client")' "$J" >/dev/null || fail "disconnect reasons"; ok
counts a >"$tmp/a.counts"
[ "$(grep -c . "$tmp/a.counts")" = 3 ] || fail "A stored: $(cat "$tmp/a.counts")"; ok
va1=$(reported_version a demo-device-01)
va2=$(reported_version a demo-device-01/azureiotsecurity)
va3=$(reported_version a demo-device-02/azureiotsecurity)

# --- B: replay at speed 10, then 3 clones -------------------------------------------------------------
start b
replay "$J" "$tmp/r1" --speed 10 --check
grep -q 'check: 0 differences' "$tmp/r1.out" || fail "check: $(cat "$tmp/r1.out" "$tmp/r1.err")"; ok
grep -q 'failed 0' "$tmp/r1.out" || fail "failures: $(cat "$tmp/r1.out")"; ok
replay "$J" "$tmp/r3" --speed 10 --check --clone 3 --clone-pattern '{id}-c{n}'
grep -q 'check: 0 differences' "$tmp/r3.out" || fail "clone check: $(cat "$tmp/r3.out" "$tmp/r3.err")"; ok
grep -q '3 identities (3 recorded x 3)\|9 identities (3 recorded x 3)' "$tmp/r3.out" ||
	fail "clone identities: $(cat "$tmp/r3.out")"; ok
stop b
counts b | grep -v -- '-c[0-9]/' >"$tmp/b.counts"
diff "$tmp/a.counts" "$tmp/b.counts" >/dev/null || fail "stored counts differ: A $(cat "$tmp/a.counts") B $(cat "$tmp/b.counts")"; ok
[ "$(reported_version b demo-device-01)" = "$va1" ] &&
	[ "$(reported_version b demo-device-01/azureiotsecurity)" = "$va2" ] &&
	[ "$(reported_version b demo-device-02/azureiotsecurity)" = "$va3" ] ||
	fail "reported versions: A $va1 $va2 $va3, B $(reported_version b demo-device-01) $(reported_version b demo-device-01/azureiotsecurity)"; ok
for n in 1 2 3; do
	counts b | grep -- "-c$n/" | sed "s/-c$n\//\//" >"$tmp/c$n.counts"
	diff "$tmp/a.counts" "$tmp/c$n.counts" >/dev/null || fail "clone $n stored $(cat "$tmp/c$n.counts")"
done; ok
ta=$(awk '{s += $2} END {print s}' "$tmp/a.counts")
tc=$(counts b | grep -- '-c[0-9]/' | awk '{s += $2} END {print s}')
[ "$tc" = $((3 * ta)) ] || fail "clones stored $tc messages, not 3 x $ta"; ok
# the clones' agents reported the same configuration as A's
cfg() { "$SIMHUB" twin show "$2" --db "$tmp/$1/hub.db" --json |
	jq -c '.properties.reported["ms_iotn:urn_azureiot_Security_SecurityAgentConfiguration"]'; }
[ "$(cfg b demo-device-02-c2/azureiotsecurity)" = "$(cfg a demo-device-02/azureiotsecurity)" ] ||
	fail "clone reported configuration"; ok

# --- C: what the hub sends, with fleet playing the device --------------------------------------------
cat >"$tmp/dev.jsonl" <<'EOF'
{"simhubJournal":1,"hub":"simhub.azure-devices.net","started":"2026-01-01T00:00:00Z"}
{"t":0,"device":"demo-device-02","op":"connect","transport":"mqtt","cleanSession":true,"keepAlive":60}
{"t":1000,"device":"demo-device-02","op":"twin.get","rid":"1"}
{"t":500000,"device":"demo-device-02","op":"twin.desired","patch":{"interval":9}}
{"t":600000,"device":"demo-device-02","op":"method.request","rid":"r1","name":"ping","payload":{"n":1}}
{"t":600000,"device":"demo-device-02","op":"method.response","rid":"r1","status":200,"payload":{"pong":true}}
{"t":700000,"device":"demo-device-02","op":"c2d","body":"hello"}
{"t":6000000,"device":"demo-device-02","op":"telemetry","body":"last"}
{"t":6000000,"device":"demo-device-02","op":"disconnect","reason":"client"}
EOF
start c --record "$tmp/c.jsonl"
"$FLEET" replay "$tmp/dev.jsonl" --host localhost --port "$(jq .mqtts "$R")" --ca "$(jq -r .ca "$R")" \
	--https-port "$(jq .https "$R")" --hub-host "$HOST" --service-cs "$(jq -r .service "$R")" --create \
	--check >"$tmp/rc.out" 2>"$tmp/rc.err" &
fpid=$!
for _ in $(seq 1 100); do grep -q '"op":"twin.get"' "$tmp/c.jsonl" && break; sleep 0.05; done
grep -q '"op":"twin.get"' "$tmp/c.jsonl" || fail "the replayed device never got its twin"
"$SIMHUB" twin patch-desired demo-device-02 '{"interval":9}' --db "$tmp/c/hub.db" >/dev/null 2>&1
"$SIMHUB" method invoke demo-device-02 ping --payload '{"n":1}' --db "$tmp/c/hub.db" >"$tmp/m.out" 2>&1 ||
	fail "method invoke: $(cat "$tmp/m.out")"
"$SIMHUB" c2d send demo-device-02 hello --message-id c2d-1 --db "$tmp/c/hub.db" >/dev/null
wait "$fpid" || fail "device replay: $(cat "$tmp/rc.out" "$tmp/rc.err")"
grep -q 'check: 0 differences' "$tmp/rc.out" || fail "device check: $(cat "$tmp/rc.out" "$tmp/rc.err")"; ok
# the shipped recording still reads and replays (fast) with --check
replay "$SIMHUB_SOURCE_DIR/fixtures/recordings/secagent-demo.jsonl" "$tmp/ship" --speed 200 --check
grep -q 'check: 0 differences' "$tmp/ship.out" && grep -q 'failed 0' "$tmp/ship.out" ||
	fail "shipped recording: $(cat "$tmp/ship.out" "$tmp/ship.err")"; ok
[ "$(wc -c <"$SIMHUB_SOURCE_DIR/fixtures/recordings/secagent-demo.jsonl")" -lt 204800 ] ||
	fail "the shipped recording is over 200 KB"; ok
stop c
C="$tmp/c.jsonl"
jq -se 'map(select(.op == "twin.desired"))[0] | .patch == {"interval":9} and .version > 0' "$C" >/dev/null ||
	fail "twin.desired line: $(grep desired "$C")"; ok
jq -se '(map(select(.op == "method.request"))[0]) as $q | (map(select(.op == "method.response"))[0]) as $a |
	$q.name == "ping" and $q.payload == {"n":1} and $a.rid == $q.rid and $a.status == 200 and
	$a.payload == {"pong":true}' "$C" >/dev/null || fail "method lines: $(grep method "$C")"; ok
jq -se '(map(select(.op == "c2d"))[0]) as $m | (map(select(.op == "c2d.settle"))[0]) as $s |
	$m.messageId == "c2d-1" and $m.body == "hello" and $m.systemProperties["message-id"] == "c2d-1" and
	$s.messageId == "c2d-1" and $s.outcome == "complete"' "$C" >/dev/null || fail "c2d lines: $(grep c2d "$C")"; ok
# the order the device saw: get, desired, method request, answer, c2d, settle
order=$(tail -n +2 "$C" | jq -r 'select(.device == "demo-device-02" and (has("module") | not)) | .op' | tr '\n' ' ')
[ "$order" = "connect twin.get twin.desired method.request method.response c2d c2d.settle telemetry disconnect " ] ||
	fail "order: $order"; ok

echo "test_record_replay: $checks checks passed"
