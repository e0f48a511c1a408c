#!/usr/bin/env bash
# test_fleet.sh: agents/fleet against a real `simhub serve` on free ports. A hand-written
# journal (tests/data/journals/small.jsonl: two devices and a module, telemetry with
# properties and a binary body, twin gets and reported patches) is replayed at --speed 50
# with --clone 5, the clones created through the registry (--service-cs --create); the stored
# telemetry per identity is read back from /simhub/v1/messages. --check passes on it and fails
# on a journal with wrong expectations; a newer journal version and a bad line are refused
# with exit 2; --keys works for the recorded ids; `fleet load` runs a few seconds.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}" "${SIMHUB_SOURCE_DIR:?}"
for tool in curl jq; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
FLEET="$SIMHUB_BUILD_DIR/agents/fleet/fleet"
[ -x "$FLEET" ] || { echo "FAIL: $FLEET not built"; exit 1; }
J="$SIMHUB_SOURCE_DIR/tests/data/journals"
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
hub device add loadkey >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start: $(cat "$tmp/serve.err")"
host=$(jq -r .host "$tmp/ready.json")
ca=$(jq -r .ca "$tmp/ready.json")
mqtts=$(jq .mqtts "$tmp/ready.json")
mqtt=$(jq .mqtt "$tmp/ready.json")
https=$(jq .https "$tmp/ready.json")
owner_cs=$(hub cs --policy iothubowner)
owner=$(hub cs --policy iothubowner --expiry 1h)
common=(--host localhost --port "$mqtts" --ca "$ca" --hub-host "$host" --https-port "$https")

# messages DEVICE [MODULE]: how many telemetry messages simhub stored for that identity
messages() {
	local q="deviceId=$1&limit=1000"
	[ $# -gt 1 ] && q="$q&moduleId=$2"
	curl -sf --cacert "$ca" -H "Authorization: $owner" "https://localhost:$https/simhub/v1/messages?$q" |
		jq "[.messages[] | select((.moduleId // \"\") == \"${2:-}\")] | length"
}

# --- replay, 5 clones, identities created, --check passes ----------------------------------
"$FLEET" replay "$J/small.jsonl" "${common[@]}" --speed 50 --clone 5 --service-cs "$owner_cs" \
	--create --check >"$tmp/r1.out" 2>"$tmp/r1.err" || fail "replay: $(cat "$tmp/r1.out" "$tmp/r1.err")"
grep -q 'check: 0 differences' "$tmp/r1.out" || fail "check line: $(cat "$tmp/r1.out")"; ok
grep -q 'sent 50, acknowledged 50, failed 0' "$tmp/r1.out" || fail "counts: $(cat "$tmp/r1.out")"; ok
grep -q 'identities: 15 created' "$tmp/r1.err" || fail "create: $(cat "$tmp/r1.err")"; ok
for n in 1 2 3 4 5; do
	[ "$(messages "dev1-$n")" = 3 ] || fail "dev1-$n stored $(messages "dev1-$n") messages, not 3"
	[ "$(messages "dev2-$n")" = 1 ] || fail "dev2-$n stored $(messages "dev2-$n"), not 1"
	[ "$(messages "dev2-$n" mod1)" = 1 ] || fail "dev2-$n/mod1 stored $(messages "dev2-$n" mod1), not 1"
done; ok
[ "$(messages dev1)" = 0 ] || fail "the recorded ids were played too"; ok
# what was stored is what the journal says: properties, base64 body, message id
curl -sf --cacert "$ca" -H "Authorization: $owner" "https://localhost:$https/simhub/v1/messages?deviceId=dev1-3" \
	>"$tmp/m.json"
jq -e '.messages[0] | .body == "{\"temp\":21.5}" and .properties == {"color":"red"} and
	.systemProperties."message-id" == "m1" and .systemProperties."iothub-content-type" == "application/json" and
	.systemProperties."iothub-connection-device-id" == "dev1-3"' "$tmp/m.json" >/dev/null ||
	fail "stored telemetry: $(jq -c '.messages[0]' "$tmp/m.json")"; ok
curl -sf --cacert "$ca" -H "Authorization: $owner" "https://localhost:$https/simhub/v1/messages?deviceId=dev2-2&moduleId=" \
	| jq -e '.messages[0].bodyBase64 == "AP8BAg=="' >/dev/null || fail "binary body"; ok

# a second run finds the identities and plays again (--json summary)
"$FLEET" replay "$J/small.jsonl" "${common[@]}" --speed 50 --clone 5 --service-cs "$owner_cs" \
	--create --check --json >"$tmp/r2.out" 2>"$tmp/r2.err" || fail "second replay: $(cat "$tmp/r2.err")"
jq -e '.identities == 15 and .sent == 50 and .acknowledged == 50 and .failed == 0 and
	.differences == 0 and .pubackMs.p50 > 0 and .twinMs.max >= .twinMs.p50' "$tmp/r2.out" >/dev/null ||
	fail "json summary: $(cat "$tmp/r2.out")"; ok
grep -q '0 created, 15 already there' "$tmp/r2.err" || fail "second create: $(cat "$tmp/r2.err")"; ok
[ "$(messages dev1-4)" = 6 ] || fail "dev1-4 after two runs: $(messages dev1-4)"; ok

# --- --check fails on wrong expectations, with a diff summary --------------------------------
set +e
"$FLEET" replay "$J/wrong-expectation.jsonl" "${common[@]}" --speed 50 --service-cs "$owner_cs" --create \
	--check >"$tmp/w.out" 2>"$tmp/w.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "wrong expectations: exit $rc, $(cat "$tmp/w.out" "$tmp/w.err")"; ok
grep -q 'check: 3 differences' "$tmp/w.out" || fail "diff count: $(cat "$tmp/w.out")"; ok
grep -q 'DIFF dev1: twin.get line 5: status 200, recorded 404' "$tmp/w.err" || fail "diff line: $(cat "$tmp/w.err")"; ok
grep -q 'DIFF dev1: twin.reported line 11: version' "$tmp/w.err" || fail "version diff: $(cat "$tmp/w.err")"; ok

# --- --keys for the recorded identities, over plain TCP ---------------------------------------
jq -n --arg a "$(hub device show dev1 --json | jq -r .authentication.symmetricKey.primaryKey)" \
	--arg b "$(hub device show dev2 --json | jq -r .authentication.symmetricKey.primaryKey)" \
	--arg m "$(hub module show dev2 mod1 --json | jq -r .authentication.symmetricKey.primaryKey)" \
	'{"dev1": $a, "dev2": $b, "dev2/mod1": $m}' >"$tmp/keys.json"
"$FLEET" replay "$J/small.jsonl" --host 127.0.0.1 --port "$mqtt" --tcp --hub-host "$host" --speed 20 \
	--keys "$tmp/keys.json" --check >"$tmp/k.out" 2>"$tmp/k.err" || fail "keys replay: $(cat "$tmp/k.out" "$tmp/k.err")"
# the wrong-expectation run above played dev1 and dev2/mod1 once already
[ "$(messages dev1)" = 6 ] && [ "$(messages dev2 mod1)" = 2 ] || fail "keys replay stored $(messages dev1)"; ok

# --- refusals: exit 2 with file:line ----------------------------------------------------------
set +e
"$FLEET" replay "$J/newer-version.jsonl" "${common[@]}" --keys "$tmp/keys.json" 2>"$tmp/v.err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q 'newer-version.jsonl:1: $.simhubJournal: journal version 2 is newer' "$tmp/v.err" ||
	fail "newer version: exit $rc $(cat "$tmp/v.err")"; ok
{ head -3 "$J/small.jsonl"; echo '{"t":5,"device":"dev1","op":"telemetry","body":7}'; } >"$tmp/bad.jsonl"
set +e
"$FLEET" replay "$tmp/bad.jsonl" "${common[@]}" --keys "$tmp/keys.json" 2>"$tmp/b.err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q 'bad.jsonl:4: $.body: must be a string' "$tmp/b.err" || fail "bad line: exit $rc $(cat "$tmp/b.err")"; ok
set +e
"$FLEET" replay "$J/small.jsonl" --host localhost 2>/dev/null; rc1=$?
"$FLEET" frobnicate 2>/dev/null; rc2=$?
set -e
[ "$rc1" = 2 ] && [ "$rc2" = 2 ] || fail "usage errors: $rc1 $rc2"; ok
"$FLEET" --help | grep -q 'fleet replay JOURNAL' || fail "help"; ok
"$FLEET" replay --help | grep -q -- '--clone-pattern' || fail "replay help"; ok

# --- fleet load: a few seconds of synthetic telemetry -----------------------------------------
key=$(hub device show loadkey --json | jq -r .authentication.symmetricKey.primaryKey)
for i in 0 1 2 3; do hub device add "ld-000$i" --primary-key "$key" >/dev/null 2>&1 || true; done
jq -n --arg k "$key" '{"*": $k}' >"$tmp/lkeys.json"
"$FLEET" load --host localhost --port "$mqtts" --tls --ca "$ca" --hub-host "$host" --keys "$tmp/lkeys.json" \
	--prefix ld- --devices 4 --rate 200 --size 64 --duration 2 --warmup 0.5 >"$tmp/l.out" 2>"$tmp/l.err" ||
	fail "load: $(cat "$tmp/l.out" "$tmp/l.err")"
grep -q '^RESULT .* errors=0' "$tmp/l.out" || fail "load result: $(cat "$tmp/l.out")"; ok
rate=$(sed -n 's/^RESULT msgs_per_s=\([0-9]*\).*/\1/p' "$tmp/l.out")
[ "$rate" -ge 150 ] && [ "$rate" -le 250 ] || fail "load at --rate 200 acknowledged $rate msgs/s"; ok
[ "$(messages ld-0002)" -ge 50 ] || fail "load stored $(messages ld-0002) for ld-0002"; ok
echo "test_fleet: $checks checks passed"
