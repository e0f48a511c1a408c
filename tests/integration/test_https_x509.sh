#!/usr/bin/env bash
# test_https_x509.sh: X.509 devices on the HTTPS device API and the security bootstrap GET with
# curl --cert/--key and no Authorization header (iothub-protocol.md §1.4). A selfSigned device
# posts telemetry (seen in /simhub/v1/messages), receives C2D (204 when empty) and reads its
# azureiotsecurity module; a certificateAuthority device posts telemetry. Refused with 401: a
# wrong certificate, another device's path, a SAS device with only a certificate, a service route
# with a certificate, and a bad Authorization header sent with a good certificate (the header wins).
set -euo pipefail
: "${SIMHUB:?set by ctest}"
for tool in curl jq openssl; do
	command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/serve.err" ] && tail -5 "$tmp/serve.err" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

mkcert() { # name -> $tmp/name.pem, $tmp/name.key
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
		-keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>/dev/null
}
thumb() { openssl x509 -in "$tmp/$1.pem" -noout -fingerprint "-$2" | sed 's/.*=//; s/://g'; }
mkcert cam1; mkcert cam2; mkcert other
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=rootca" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$tmp/rootca.key" -out "$tmp/rootca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=fleet1" \
	-keyout "$tmp/fleet1.key" -out "$tmp/fleet1.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$tmp/ext.cnf"
openssl x509 -req -in "$tmp/fleet1.csr" -CA "$tmp/rootca.pem" -CAkey "$tmp/rootca.key" \
	-CAcreateserial -days 2 -extfile "$tmp/ext.cnf" -out "$tmp/fleet1.pem" 2>/dev/null

db="$tmp/hub.db"
hub() { "$SIMHUB" "$@" --db "$db"; }
hub x509-ca add root "$tmp/rootca.pem" >/dev/null
hub device add cam1 --x509-thumbprint "$(thumb cam1 sha1)" >/dev/null
hub module add cam1 azureiotsecurity >/dev/null
hub device add cam2 --x509-thumbprint "$(thumb cam2 sha256)" >/dev/null
hub module add cam2 azureiotsecurity >/dev/null
hub device add fleet1 --x509-ca >/dev/null
hub device add sas1 >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start"
base="https://localhost:$(jq .https "$tmp/ready.json")"
ca=$(jq -r .ca "$tmp/ready.json")
owner=$(hub cs --policy iothubowner --expiry 1h)
sas1=$(hub cs sas1 --expiry 1h)
api='api-version=2021-04-12'

# call CERT METHOD PATH [curl args...]: with client certificate CERT ("" for none) and no
# Authorization header unless the args add one -> status in $status, body in $tmp/body
call() {
	local cert=$1 m=$2 p=$3; shift 3
	local args=(-s --cacert "$ca" -X "$m" -o "$tmp/body" -w '%{http_code}')
	[ -n "$cert" ] && args+=(--cert "$tmp/$cert.pem" --key "$tmp/$cert.key")
	status=$(curl "${args[@]}" "$@" "$base$p?$api")
}
expect() { [ "$status" = "$1" ] || fail "$2: status $status, body $(cat "$tmp/body")"; ok; }
errcode() { jq -r '.Message | fromjson | .errorCode' "$tmp/body"; }

# selfSigned (SHA-1 primary): telemetry, C2D receive, the bootstrap GET of its module.
call cam1 POST /devices/cam1/messages/events --data-binary 'hello-from-cam1'
expect 204 "cam1 telemetry with its certificate"
call cam2 POST /devices/cam2/messages/events --data-binary 'hello-from-cam2'
expect 204 "cam2 telemetry with its SHA-256 thumbprint"
call fleet1 POST /devices/fleet1/messages/events --data-binary 'hello-from-fleet1'
expect 204 "fleet1 (certificateAuthority) telemetry"
call cam1 GET /devices/cam1/messages/deviceBound
expect 204 "cam1 C2D receive on an empty queue"
call cam1 GET /devices/cam1/modules/azureiotsecurity
expect 200 "cam1 bootstrap GET of its azureiotsecurity module"
jq -e '.deviceId == "cam1" and .moduleId == "azureiotsecurity" and .authentication.type == "sas"' \
	"$tmp/body" >/dev/null || fail "bootstrap body: $(cat "$tmp/body")"; ok

# Refusals.
call other POST /devices/cam1/messages/events --data-binary x
expect 401 "cam1 telemetry with a wrong certificate"
[ "$(errcode)" = 401003 ] || fail "wrong certificate: errorCode $(errcode)"; ok
call other GET /devices/cam1/modules/azureiotsecurity
expect 401 "bootstrap GET with a wrong certificate"
call cam1 GET /devices/cam2/modules/azureiotsecurity
expect 401 "bootstrap GET of another device's module"
call cam1 POST /devices/cam2/messages/events --data-binary x
expect 401 "cam1's certificate for cam2's telemetry"
call cam1 POST /devices/sas1/messages/events --data-binary x
expect 401 "a SAS device with a certificate and no header"
call "" POST /devices/cam1/messages/events --data-binary x
expect 401 "an X.509 device with neither header nor certificate"
call cam1 GET /devices/cam1
expect 401 "a service route (device GET) with a device certificate"
call cam1 GET /simhub/v1/messages
expect 401 "a service route (/simhub/v1/messages) with a device certificate"
call cam1 PUT /devices/cam1/modules/azureiotsecurity -H 'Content-Type: application/json' \
	--data-binary '{"deviceId":"cam1","moduleId":"azureiotsecurity"}'
expect 401 "a module PUT with a device certificate"
# A header wins over the certificate: a bad token with a good certificate is refused, a good
# token with any certificate is accepted.
call cam1 POST /devices/cam1/messages/events -H 'Authorization: SharedAccessSignature sr=x&sig=y&se=1' \
	--data-binary x
expect 401 "a bad Authorization header with a good certificate"
call cam1 POST /devices/sas1/messages/events -H "Authorization: $sas1" --data-binary 'hello-from-sas1'
expect 204 "a SAS device's token with some certificate"

# What was stored: exactly the accepted messages.
curl -s --cacert "$ca" -H "Authorization: $owner" "$base/simhub/v1/messages?$api" >"$tmp/msgs"
got=$(jq -r '[.messages[] | "\(.deviceId):\(.body)"] | join(" ")' "$tmp/msgs")
[ "$got" = "cam1:hello-from-cam1 cam2:hello-from-cam2 fleet1:hello-from-fleet1 sas1:hello-from-sas1" ] ||
	fail "stored messages: $got"; ok
kill -TERM "$pid"; wait "$pid" || fail "serve did not stop cleanly"; pid=
echo "test_https_x509: $checks checks passed"
