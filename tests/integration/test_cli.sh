#!/usr/bin/env bash
# test_cli.sh: the `simhub` verbs end to end on a temporary database: every verb's --help,
# usage errors (exit 2), operation errors (exit 1, IoT Hub code on stderr), device and module
# life cycle, connection strings and SAS tokens checked against core/sas and the openssl CLI,
# twins, policies, fixture loading (idempotent, all-or-nothing), serve start and clean stop,
# and refusal of a database from a newer simhub.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}" "${SIMHUB_SOURCE_DIR:?}"
for tool in jq openssl sqlite3 xxd; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true' EXIT
db="$tmp/data/hub.db"
helper_sas="$SIMHUB_BUILD_DIR/tests/helper_sas"
checks=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); }
hub() { "$SIMHUB" "$@" --db "$db"; }
# expect CODE PATTERN CMD...: CMD exits with CODE and its stderr matches PATTERN.
expect() {
	local code=$1 pattern=$2; shift 2
	local rc=0
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" = "$code" ] || fail "'$*' exited $rc, expected $code; stderr: $(cat "$tmp/err")"
	grep -qE -- "$pattern" "$tmp/err" || fail "'$*' stderr lacks /$pattern/: $(cat "$tmp/err")"
	ok
}

# --- help and usage -------------------------------------------------------------------------------
"$SIMHUB" --help | grep -q "usage: simhub VERB" || fail "top-level --help"; ok
verbs=("serve" "load" "device add" "device list" "device show" "device rm" "device enable"
       "device disable" "module add" "module list" "module show" "module rm" "cs" "policy list"
       "twin show" "twin patch-desired" "twin patch-tags" "ca" "x509-ca add" "x509-ca list"
       "x509-ca rm")
for v in "${verbs[@]}"; do
	# shellcheck disable=SC2086
	"$SIMHUB" $v --help >"$tmp/help" || fail "'simhub $v --help' failed"
	grep -q "^usage: simhub $v" "$tmp/help" || fail "'simhub $v --help' has no usage line"
	grep -q -- "--db PATH" "$tmp/help" || fail "'simhub $v --help' does not mention --db"
	# every verb listed in the top-level help
	"$SIMHUB" --help | grep -qE "^  $v " || fail "top-level help does not list '$v'"
	ok
done
expect 2 "usage" "$SIMHUB"
for g in device module twin policy; do
	"$SIMHUB" "$g" --help | grep -q "^  $g " || fail "'simhub $g --help' lists no verbs"; ok
	expect 2 "usage: simhub $g VERB" "$SIMHUB" "$g"
done
expect 2 "unknown verb 'device frob'" "$SIMHUB" device frob
expect 2 "unknown verb 'frobnicate'" "$SIMHUB" frobnicate
expect 2 "unknown option '--nope'" "$SIMHUB" device list --nope
expect 2 "takes DEVICE" "$SIMHUB" device add
expect 2 "needs a value" "$SIMHUB" device list --db
expect 2 "expiry" "$SIMHUB" cs dev1 --expiry soon --db "$db"
# A verb with its own --json FILE / --db PATH (simhub test) lists each once, with its meaning.
"$SIMHUB" test --help >"$tmp/help"
[ "$(grep -c -- '^  --json' "$tmp/help")" = 1 ] && grep -q -- '^  --json FILE' "$tmp/help" ||
	fail "'simhub test --help' lists --json other than once as --json FILE"; ok
[ "$(grep -c -- '^  --db PATH' "$tmp/help")" = 1 ] && ! grep -q -- '--db PATH .*simhub-data' "$tmp/help" ||
	fail "'simhub test --help' shows the store's default --db"; ok
# Each security list takes only the filters its API list honours; others are refused.
expect 2 "unknown option '--name' for 'security alerts'" "$SIMHUB" security alerts --name Login
expect 2 "unknown option '--rule' for 'security messages'" "$SIMHUB" security messages --rule openPorts
expect 2 "unknown option '--severity' for 'security events'" "$SIMHUB" security events --severity High

# --- a missing database is not created by read verbs ----------------------------------------------
expect 1 "no database at" hub device list
[ ! -e "$db" ] || fail "device list created $db"; ok

# --- device life cycle and the SAS known-answer check ------------------------------------------
hub device add dev1 >/dev/null
[ -f "$db" ] || fail "device add did not create $db"; ok
cs=$(hub cs dev1)
[[ "$cs" =~ ^HostName=localhost\;DeviceId=dev1\;SharedAccessKey=([A-Za-z0-9+/=]{44})$ ]] ||
	fail "unexpected connection string: $cs"
key=${BASH_REMATCH[1]}; ok
token=$(hub cs dev1 --expiry 1h)
[[ "$token" =~ ^SharedAccessSignature\ sr=([^&]+)\&sig=([^&]+)\&se=([0-9]+)$ ]] ||
	fail "unexpected token shape: $token"
sr=${BASH_REMATCH[1]} sig=${BASH_REMATCH[2]} se=${BASH_REMATCH[3]}
[ "$sr" = "localhost%2Fdevices%2Fdev1" ] || fail "sr is $sr"; ok
now=$(date +%s)
[ "$se" -gt $((now + 3500)) ] && [ "$se" -le $((now + 3601)) ] || fail "se $se is not now+1h"; ok
# core/sas verifies it ...
"$helper_sas" verify "$token" "localhost/devices/dev1" "$key" "$now" >/dev/null || fail "core/sas refused the token"; ok
# ... and the openssl CLI, independently, computes the same signature.
hexkey=$(printf '%s' "$key" | openssl base64 -d -A | xxd -p -c 256)
want=$(printf '%s\n%s' "$sr" "$se" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | openssl base64 -A)
want_enc=$(printf '%s' "$want" | sed -e 's/+/%2B/g' -e 's/\//%2F/g' -e 's/=/%3D/g')
[ "$sig" = "$want_enc" ] || fail "signature $sig differs from openssl's $want_enc"; ok
# a token for another device, or expired, is refused
"$helper_sas" verify "$token" "localhost/devices/dev10" "$key" "$now" >/dev/null && fail "scope dev10 accepted"; ok
"$helper_sas" verify "$token" "localhost/devices/dev1" "$key" $((se + 1000)) >/dev/null && fail "expired token accepted"; ok

hub device show dev1 --json >"$tmp/dev.json"
[ "$(jq -r .deviceId "$tmp/dev.json")" = dev1 ] || fail "show --json deviceId"; ok
[ "$(jq -r .authentication.symmetricKey.primaryKey "$tmp/dev.json")" = "$key" ] || fail "show --json key"; ok
[ "$(jq -r .etag "$tmp/dev.json")" = "MQ==" ] || fail "show --json etag"; ok
[ "$(jq -r .statusUpdatedTime "$tmp/dev.json")" = "0001-01-01T00:00:00Z" ] || fail "statusUpdatedTime"; ok
expect 1 "DeviceAlreadyExists 409001" hub device add dev1
expect 1 "ArgumentInvalid 400004" hub device add "bad id"
expect 1 "ArgumentInvalid 400004" hub device add dev2 --primary-key notbase64
expect 1 "DeviceNotFound 404001" hub device show nope
hub device add dev2 --primary-key AAAAAAAAAAAAAAAAAAAAAA== --secondary-key AQEBAQEBAQEBAQEBAQEBAQ== >/dev/null
[ "$(hub cs dev2)" = "HostName=localhost;DeviceId=dev2;SharedAccessKey=AAAAAAAAAAAAAAAAAAAAAA==" ] || fail "fixed key cs"; ok
[ "$(hub cs dev2 --gateway 127.0.0.1)" = "HostName=localhost;DeviceId=dev2;SharedAccessKey=AAAAAAAAAAAAAAAAAAAAAA==;GatewayHostName=127.0.0.1" ] || fail "gateway cs"; ok
hub device list --json | jq -e 'length == 2 and .[0].deviceId == "dev1" and .[1].deviceId == "dev2"' >/dev/null || fail "device list --json"; ok
hub device list | grep -q "^dev2 " || fail "device list text"; ok

hub device disable dev2 --reason "stolen" --json | jq -e '.status == "disabled" and .statusReason == "stolen" and .etag == "Mg=="' >/dev/null || fail "disable"; ok
hub device enable dev2 --json | jq -e '.status == "enabled"' >/dev/null || fail "enable"; ok

# --- modules ------------------------------------------------------------------------------------------
hub module add dev1 azureiotsecurity >/dev/null
hub module add dev1/telemetry --managed-by IotEdge >/dev/null
expect 1 "ModuleAlreadyExistsOnDevice 409301" hub module add dev1 azureiotsecurity
expect 1 "DeviceNotFound 404001" hub module add ghost m1
hub module list dev1 --json | jq -e 'map(.moduleId) == ["azureiotsecurity","telemetry"]' >/dev/null || fail "module list"; ok
hub module show dev1 telemetry --json | jq -e '.managedBy == "IotEdge" and .deviceId == "dev1"' >/dev/null || fail "module show"; ok
hub cs dev1/azureiotsecurity | grep -q "^HostName=localhost;DeviceId=dev1;ModuleId=azureiotsecurity;SharedAccessKey=" || fail "module cs"; ok
mtoken=$(hub cs dev1/azureiotsecurity --expiry 600)
mkey=$(hub module show dev1 azureiotsecurity --json | jq -r .authentication.symmetricKey.primaryKey)
"$helper_sas" verify "$mtoken" "localhost/devices/dev1/modules/azureiotsecurity" "$mkey" "$(date +%s)" >/dev/null || fail "module token"; ok
expect 1 "ModuleNotFound 404010" hub module show dev1 nope

# --- twins --------------------------------------------------------------------------------------------
hub twin patch-desired dev1 '{"interval":5,"nested":{"a":1}}' 2>/dev/null
hub twin show dev1 >"$tmp/twin.json"
jq -e '.properties.desired.interval == 5 and .properties.desired["$version"] == 2 and .deviceId == "dev1"' "$tmp/twin.json" >/dev/null || fail "desired patch: $(cat "$tmp/twin.json")"; ok
jq -e '.properties.desired["$metadata"].nested.a["$lastUpdatedVersion"] == 2' "$tmp/twin.json" >/dev/null || fail "desired metadata"; ok
echo '{"site":"lab"}' | hub twin patch-tags dev1 - 2>/dev/null
hub twin show dev1 | jq -e '.tags.site == "lab"' >/dev/null || fail "tags patch from stdin"; ok
hub twin show dev1 --device-view | jq -e 'has("tags") | not' >/dev/null || fail "device view has tags"; ok
hub twin patch-desired dev1/azureiotsecurity '{"x":1}' 2>/dev/null
hub twin show dev1/azureiotsecurity | jq -e '.moduleId == "azureiotsecurity" and .properties.desired.x == 1' >/dev/null || fail "module twin"; ok
before=$(hub twin show dev1)
expect 1 "not valid JSON" hub twin patch-desired dev1 '{"a":'
expect 1 "ArgumentInvalid 400004" hub twin patch-desired dev1 '{"a.b":1}'
expect 1 "DeviceNotFound 404001" hub twin show ghost
[ "$before" = "$(hub twin show dev1)" ] || fail "a refused patch changed the twin"; ok

# --- policies -----------------------------------------------------------------------------------------
hub policy list --json | jq -e 'map(.keyName) | sort == ["device","iothubowner","registryRead","registryReadWrite","service"]' >/dev/null || fail "policy list"; ok
hub cs --policy iothubowner | grep -q "^HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=" || fail "policy cs"; ok
ptoken=$(hub cs --policy service --expiry 60)
[[ "$ptoken" == *"&skn=service"* ]] || fail "policy token has no skn: $ptoken"; ok
expect 1 "no shared access policy 'nope'" hub cs --policy nope

# --- deletion -----------------------------------------------------------------------------------------
hub device rm dev1 2>/dev/null
expect 1 "DeviceNotFound 404001" hub module show dev1 azureiotsecurity
expect 1 "DeviceNotFound 404001" hub device rm dev1

# --- fixtures -----------------------------------------------------------------------------------------
demo="$SIMHUB_SOURCE_DIR/fixtures/demo"
hub load "$demo" 2>/dev/null
hub device list --json >"$tmp/l1.json"
[ "$(jq length "$tmp/l1.json")" -ge 3 ] || fail "demo fixtures loaded too few devices"; ok
snap() { for d in $(hub device list --json | jq -r '.[].deviceId'); do hub twin show "$d"; hub device show "$d" --json; done; }
snap >"$tmp/s1"
hub load "$demo" 2>/dev/null
snap >"$tmp/s2"
cmp -s "$tmp/s1" "$tmp/s2" || fail "loading the demo fixtures twice changed something: $(diff "$tmp/s1" "$tmp/s2" | head)"; ok
cat >"$tmp/bad.json" <<'JSON'
{"devices": [{"id": "fresh1"}, {"id": "bad id"}]}
JSON
expect 1 "bad.json: .*devices\[1\]" hub load "$tmp/bad.json"
expect 1 "DeviceNotFound" hub device show fresh1
printf '{"devices": [' >"$tmp/trunc.json"
expect 1 "trunc.json" hub load "$tmp/trunc.json"
expect 1 "No such file" hub load "$tmp/absent.json"
# any number of files (a shell glob of a fixtures folder easily passes 16)
mkdir "$tmp/many"
for i in $(seq 1 40); do printf '{"devices": [{"id": "many%02d"}]}\n' "$i" >"$tmp/many/m$i.json"; done
hub load "$tmp"/many/*.json 2>/dev/null || fail "load of 40 files"
[ "$(hub device list --json | jq '[.[] | select(.deviceId | startswith("many"))] | length')" = 40 ] ||
	fail "40 files loaded $(hub device list --json | jq -c '[.[].deviceId]')"; ok

# --- SIMHUB_DB names the database when --db is absent -------------------------------------------
SIMHUB_DB="$tmp/env.db" "$SIMHUB" device add envdev >/dev/null
[ -f "$tmp/env.db" ] || fail "SIMHUB_DB was not used"; ok
"$SIMHUB" device show envdev --db "$tmp/env.db" >/dev/null || fail "device not in the SIMHUB_DB database"; ok

# --- --db :memory: and a newer database -----------------------------------------------------------
"$SIMHUB" device add m1 --db :memory: --json | jq -e '.deviceId == "m1"' >/dev/null || fail ":memory:"; ok
cp "$db" "$tmp/newer.db"
sqlite3 "$tmp/newer.db" "PRAGMA user_version = 999;"
expect 1 "newer" "$SIMHUB" device list --db "$tmp/newer.db"
printf 'this is not a database at all, just text padding it out..................' >"$tmp/junk.db"
expect 1 "cannot open database" "$SIMHUB" device list --db "$tmp/junk.db"

# --- serve: prints connection strings, stops cleanly on SIGTERM ---------------------------------------
"$SIMHUB" serve --db "$tmp/serve.db" --fixtures "$demo" --mqtt-port 0 --mqtts-port 0 --https-port 0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
for _ in $(seq 1 100); do grep -q "running" "$tmp/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q "running" "$tmp/serve.out" || fail "serve did not start: $(cat "$tmp/serve.err")"; ok
grep -q "SharedAccessKeyName=iothubowner;SharedAccessKey=" "$tmp/serve.out" || fail "serve printed no iothubowner string"; ok
grep -q "ModuleId=azureiotsecurity" "$tmp/serve.out" || fail "serve printed no security module string"; ok
# The demo hub is called simhub.azure-devices.net: device strings reach simhub through a gateway.
grep -qE "HostName=simhub.azure-devices.net;DeviceId=demo-device-01;SharedAccessKey=[^;]+;GatewayHostName=localhost:[0-9]+$" "$tmp/serve.out" ||
	fail "serve printed no gateway form: $(grep DeviceId "$tmp/serve.out" | head -2)"; ok
grep -qE "^listeners on 127.0.0.1: mqtt [0-9]+, mqtts [0-9]+, https\+wss [0-9]+" "$tmp/serve.out" || fail "serve printed no listeners"; ok
kill -TERM "$serve_pid"
rc=0; wait "$serve_pid" || rc=$?
serve_pid=
[ "$rc" = 0 ] || fail "serve exited $rc on SIGTERM"; ok
grep -q "SIGTERM received" "$tmp/serve.err" || fail "serve did not report the signal"; ok

echo "test_cli: $checks checks passed"
