#!/usr/bin/env bash
# test_secagent.sh: the reference security agent (agents/secagent) against a real `simhub serve`
# over TLS with the hub's CA: `--once --synthetic 1` gets the module twin, reports the effective
# configuration (checked through the service REST API) and its security messages land in the
# d2c store marked with the interface id; a long-running agent honours a desired patch sent
# with curl and a service token, keeps sending, and exits 0 on SIGTERM; plain MQTT works too;
# the device-connection-string bootstrap either works or fails with a clear 401 line (when the
# hub does not serve the device-scoped module GET yet); a 10 s SAS token is renewed before it
# expires, and after a hub restart the agent retries with growing delays and reconnects;
# usage errors exit 2.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in curl jq sqlite3 timeout; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool"; exit 1; }
done
AGENT="$SIMHUB_BUILD_DIR/agents/secagent/secagent"
[ -x "$AGENT" ] || { echo "FAIL: $AGENT not built"; exit 1; }
tmp=$(mktemp -d)
pid=
apid=
trap '[ -n "$apid" ] && kill "$apid" 2>/dev/null; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

HOST=secagent-test.azure-devices.net
DEVKEY="0It83Ij/StW87u4iOh6E2cdQlegt4W9hJevUj2k08eM="
MODKEY="MksNAolsXNd4IwkOVmnRo2RtEMEM3myQ3EptMm1+emw="
OWNERKEY="CvSQ+K9M++tbU6Icp58XwpLSFsIwSGOxu9NRyTs6T7A="
CFG='ms_iotn:urn_azureiot_Security_SecurityAgentConfiguration'
cat >"$tmp/fixture.json" <<JSON
{"version":1,"settings":{"hostname":"$HOST"},
 "policies":[{"name":"iothubowner","primaryKey":"$OWNERKEY",
   "rights":["RegistryRead","RegistryWrite","ServiceConnect","DeviceConnect"]}],
 "devices":[{"id":"sadev","authentication":{"type":"sas","primaryKey":"$DEVKEY"},
   "modules":[{"id":"azureiotsecurity","authentication":{"type":"sas","primaryKey":"$MODKEY"},
     "twin":{"desired":{"$CFG":{
       "highPriorityMessageFrequency":{"value":"PT2S"},
       "lowPriorityMessageFrequency":{"value":"PT4S"},
       "snapshotFrequency":{"value":"PT1M"},
       "maxMessageSizeInBytes":{"value":16384},
       "eventPriorityProcessCreate":{"value":"High"}}}}}]}]}
JSON
db="$tmp/hub.db"
"$SIMHUB" serve --db "$db" --fixtures "$tmp/fixture.json" --mqtt-port 0 --mqtts-port 0 \
	--https-port 0 --ready-file "$tmp/ready.json" >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start: $(cat "$tmp/serve.err")"
mqtts=$(jq .mqtts "$tmp/ready.json")
mqtt=$(jq .mqtt "$tmp/ready.json")
https=$(jq .https "$tmp/ready.json")
ca=$(jq -r .ca "$tmp/ready.json")
owner=$("$SIMHUB" cs --policy iothubowner --expiry 1h --db "$db")
MODCS="HostName=$HOST;DeviceId=sadev;ModuleId=azureiotsecurity;SharedAccessKey=$MODKEY"
DEVCS="HostName=$HOST;DeviceId=sadev;SharedAccessKey=$DEVKEY"
api() { curl -sS --cacert "$ca" -H "Authorization: $owner" -H 'Content-Type: application/json' "$@"; }
reported() { api "https://localhost:$https/twins/sadev/modules/azureiotsecurity?api-version=2021-04-12" |
	jq -r ".properties.reported[\"$CFG\"].$1.value"; }
security_rows() { sqlite3 "$db" "SELECT count(*) FROM d2c_messages WHERE device_id='sadev'
	AND module_id='azureiotsecurity' AND interface_id='urn:azureiot:Security:SecurityAgent:1'"; }

# --- usage -------------------------------------------------------------------------------------
"$AGENT" --help | grep -q -- '--synthetic SEED' || fail "--help lacks --synthetic"; ok
set +e
"$AGENT" --bogus >/dev/null 2>"$tmp/e"; [ $? -eq 2 ] || fail "unknown option must exit 2"; ok
env -u SECAGENT_CONNECTION_STRING "$AGENT" --once 2>"$tmp/e"; [ $? -eq 2 ] || fail "no connection string must exit 2"; ok
grep -q 'no connection string' "$tmp/e" || fail "no clear error: $(cat "$tmp/e")"; ok
"$AGENT" -c "HostName=h;DeviceId=d" 2>"$tmp/e"; [ $? -eq 2 ] || fail "bad connection string must exit 2"; ok
"$AGENT" -c "$MODCS" --mqtts-port 99999 2>/dev/null; [ $? -eq 2 ] || fail "bad port must exit 2"; ok
set -e

# --- once, over TLS ----------------------------------------------------------------------------
timeout 60 "$AGENT" --once --synthetic 1 -c "$MODCS" --ca "$ca" --host localhost \
	--mqtts-port "$mqtts" 2>"$tmp/once.log" || fail "secagent --once failed: $(cat "$tmp/once.log")"
ok
grep -q 'over TLS' "$tmp/once.log" || fail "not over TLS: $(cat "$tmp/once.log")"; ok
grep -q 'reported the effective configuration' "$tmp/once.log" || fail "no report: $(cat "$tmp/once.log")"; ok
[ "$(reported maxMessageSizeInBytes)" = 16384 ] || fail "reported maxMessageSizeInBytes: $(reported maxMessageSizeInBytes)"; ok
[ "$(reported highPriorityMessageFrequency)" = PT2S ] || fail "reported high frequency"; ok
[ "$(reported eventPriorityProcessCreate)" = high ] || fail "reported priority not lower-case high"; ok
[ "$(reported maxLocalCacheSizeInBytes)" = 2560000 ] || fail "default cache size not reported"; ok
n1=$(security_rows)
[ "$n1" -ge 1 ] || fail "no security message stored: $(cat "$tmp/once.log")"; ok
body=$(sqlite3 "$db" "SELECT CAST(body AS TEXT) FROM d2c_messages WHERE module_id='azureiotsecurity' ORDER BY seq LIMIT 1")
echo "$body" | jq -e '.MessageSchemaVersion == "1.0" and (.Events | length) >= 1 and (.AgentId | length) == 36' >/dev/null ||
	fail "stored body is not a security message: $body"; ok
maxlen=$(sqlite3 "$db" "SELECT max(length(body)) FROM d2c_messages WHERE module_id='azureiotsecurity'")
[ "$maxlen" -le 16384 ] || fail "a message of $maxlen bytes exceeds maxMessageSizeInBytes 16384"; ok
names=$(sqlite3 "$db" "SELECT CAST(body AS TEXT) FROM d2c_messages WHERE module_id='azureiotsecurity'" |
	jq -r '.Events[].Name' | sort -u | tr '\n' ' ')
for n in ProcessCreate ListeningPorts LocalUsers SystemInformation FirewallConfiguration Login \
	DroppedEventsStatistics MessageStatistics; do
	case " $names" in *" $n "*) ;; *) fail "no $n event stored (got: $names)";; esac
done
ok
api "https://localhost:$https/simhub/v1/messages?deviceId=sadev&includeSecurity=true&api-version=2021-04-12" |
	jq -e '[.messages[] | select(.moduleId == "azureiotsecurity")] | length >= 1' >/dev/null ||
	fail "the messages API does not show the agent's messages"; ok
# the same seed gives the same events (ids included)
ids1=$(sqlite3 "$db" "SELECT CAST(body AS TEXT) FROM d2c_messages WHERE module_id='azureiotsecurity'" | jq -r '.Events[] | select(.Name=="ProcessCreate") | .Payload[].CommandLine' | sort)

# --- plain MQTT (debugging) with the same seed: same synthetic process events -------------------
before=$(security_rows)
timeout 60 "$AGENT" --once --synthetic 1 -c "$MODCS" --host 127.0.0.1 --mqtt-port "$mqtt" \
	2>"$tmp/plain.log" || fail "plain MQTT run failed: $(cat "$tmp/plain.log")"
grep -q 'plain TCP' "$tmp/plain.log" || fail "not plain TCP"; ok
[ "$(security_rows)" -gt "$before" ] || fail "plain run stored nothing"; ok
ids2=$(sqlite3 "$db" "SELECT CAST(body AS TEXT) FROM d2c_messages WHERE module_id='azureiotsecurity' AND seq > (SELECT max(seq) FROM d2c_messages WHERE seq <= (SELECT seq FROM d2c_messages WHERE module_id='azureiotsecurity' ORDER BY seq LIMIT 1 OFFSET $before - 1))" |
	jq -r '.Events[] | select(.Name=="ProcessCreate") | .Payload[].CommandLine' | sort)
[ -n "$ids1" ] && [ "$ids1" = "$ids2" ] || fail "same seed, different events: [$ids1] vs [$ids2]"; ok

# --- long-running agent: desired patch honoured, messages keep coming, SIGTERM -----------------
"$AGENT" --synthetic 2 --poll 1 -c "$MODCS" --ca "$ca" --host localhost --mqtts-port "$mqtts" \
	2>"$tmp/run.log" &
apid=$!
for _ in $(seq 1 200); do grep -q 'agent initialized' "$tmp/run.log" && break; sleep 0.05; done
grep -q 'agent initialized' "$tmp/run.log" || fail "agent did not start: $(cat "$tmp/run.log")"; ok
# a partial patch: the agent reads it as the whole object (§2.5), so the keys it leaves out go
# back to their defaults; it keeps the high frequency and ProcessCreate priority for the check below
patch="{\"properties\":{\"desired\":{\"$CFG\":{\"maxMessageSizeInBytes\":{\"value\":32768},\"eventPriorityLogin\":{\"value\":\"Off\"},
 \"highPriorityMessageFrequency\":{\"value\":\"PT2S\"},\"eventPriorityProcessCreate\":{\"value\":\"High\"}}}}}"
code=$(api -o "$tmp/patch.out" -w '%{http_code}' -X PATCH -H 'If-Match: *' --data "$patch" \
	"https://localhost:$https/twins/sadev/modules/azureiotsecurity?api-version=2021-04-12")
[ "$code" = 200 ] || fail "desired PATCH answered $code: $(cat "$tmp/patch.out")"; ok
for _ in $(seq 1 100); do [ "$(reported maxMessageSizeInBytes)" = 32768 ] && break; sleep 0.1; done
[ "$(reported maxMessageSizeInBytes)" = 32768 ] || fail "desired patch not reported: $(cat "$tmp/run.log")"; ok
[ "$(reported eventPriorityLogin)" = off ] || fail "Login priority not off"; ok
[ "$(reported snapshotFrequency)" = PT13H ] || fail "a partial patch must reset the keys it leaves out (§2.5)"; ok
[ "$(reported highPriorityMessageFrequency)" = PT2S ] || fail "high frequency of the patch not applied"; ok
grep -q 'desired patch received' "$tmp/run.log" || fail "no patch log line"; ok
before=$(security_rows)
for _ in $(seq 1 100); do [ "$(security_rows)" -gt "$before" ] && break; sleep 0.1; done
[ "$(security_rows)" -gt "$before" ] || fail "no message within 10 s (high frequency PT2S): $(tail -5 "$tmp/run.log")"; ok
kill -TERM "$apid"
set +e
wait "$apid"; st=$?
set -e
apid=
[ "$st" -eq 0 ] || fail "SIGTERM exit status $st: $(tail -5 "$tmp/run.log")"; ok
grep -q 'disconnected' "$tmp/run.log" || fail "no clean disconnect"; ok

# --- device connection string: the device-identity bootstrap (§2.3) ----------------------------
before=$(security_rows)
set +e
timeout 60 "$AGENT" --once --synthetic 3 -c "$DEVCS" --ca "$ca" --host localhost \
	--mqtts-port "$mqtts" --https-port "$https" 2>"$tmp/boot.log"
st=$?
set -e
if [ "$st" -eq 0 ]; then
	grep -q 'bootstrap: got the key' "$tmp/boot.log" || fail "bootstrap not logged"; ok
	[ "$(security_rows)" -gt "$before" ] || fail "bootstrapped agent stored nothing"; ok
	echo "bootstrap: the agent read its module key as the device and connected as the module"
else
	# simhub serves the device-scoped module GET (hub_auth_device_token): it must work
	fail "bootstrap failed (exit $st): $(cat "$tmp/boot.log")"
fi

# --- SAS renewal before expiry, and reconnection with backoff after a hub restart ---------------
"$AGENT" --synthetic 4 --poll 1 --sas-ttl 10 -c "$MODCS" --ca "$ca" --host localhost \
	--mqtts-port "$mqtts" 2>"$tmp/renew.log" &
apid=$!
waitlog() { # waitlog PATTERN SECONDS
	for _ in $(seq 1 $(($2 * 10))); do grep -q -- "$1" "$tmp/renew.log" && return 0; sleep 0.1; done
	return 1
}
waitlog 'ready (connection 1, SAS renewal in [0-9]* s)' 10 || fail "agent not ready: $(cat "$tmp/renew.log")"; ok
# a 10 s token is renewed at 80 % of its life: a new connection with a new token, no failure
waitlog 'renewing the SAS token: reconnecting' 15 || fail "no SAS renewal within 15 s: $(tail -5 "$tmp/renew.log")"; ok
waitlog 'ready (connection 2,' 10 || fail "no connection after the renewal: $(tail -5 "$tmp/renew.log")"; ok
grep -q 'CONNACK' "$tmp/renew.log" && fail "a renewal was refused: $(grep CONNACK "$tmp/renew.log")"
# the hub goes away: the agent retries with growing delays, and reconnects when it is back
kill -TERM "$pid"
wait "$pid" || fail "simhub did not exit 0"
pid=
waitlog 'retry in' 10 || fail "no retry after the hub stopped: $(tail -5 "$tmp/renew.log")"; ok
sleep 4
delays=$(grep -o 'retry in [0-9]* ms' "$tmp/renew.log" | awk '{print $3}')
[ "$(wc -l <<<"$delays")" -ge 2 ] || fail "one retry in 4 s without a hub: $delays"
first=$(head -1 <<<"$delays")
last=$(tail -1 <<<"$delays")
[ "$last" -gt "$first" ] || fail "retry delays do not grow: $(tr '\n' ' ' <<<"$delays")"; ok
rows_before=$(security_rows)
"$SIMHUB" serve --db "$db" --mqtt-port "$mqtt" --mqtts-port "$mqtts" --https-port "$https" \
	--ready-file "$tmp/ready2.json" >>"$tmp/serve.out" 2>>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/ready2.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready2.json" ] || fail "simhub did not restart: $(tail -3 "$tmp/serve.err")"
connections() { grep -c 'ready (connection' "$tmp/renew.log"; }
n_before=$(connections)
for _ in $(seq 1 300); do [ "$(connections)" -gt "$n_before" ] && break; sleep 0.1; done
[ "$(connections)" -gt "$n_before" ] || fail "no reconnection within 30 s of the restart: $(tail -5 "$tmp/renew.log")"; ok
for _ in $(seq 1 150); do [ "$(security_rows)" -gt "$rows_before" ] && break; sleep 0.1; done
[ "$(security_rows)" -gt "$rows_before" ] || fail "no message stored after the reconnection: $(tail -5 "$tmp/renew.log")"; ok
kill -TERM "$apid"
wait "$apid" || fail "agent exit status after SIGTERM"
apid=

kill -TERM "$pid"
wait "$pid" || fail "simhub did not exit 0"
pid=
echo "PASS: $checks checks"
