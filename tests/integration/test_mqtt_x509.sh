#!/usr/bin/env bash
# test_mqtt_x509.sh: X.509 devices over MQTT/TLS with a real client (mosquitto_pub).
# selfSigned: a certificate whose SHA-1 or SHA-256 thumbprint is the identity's primary or
# secondary connects and publishes; another certificate, a SAS identity without a password, and
# a disabled X.509 device are refused. certificateAuthority: a certificate chained to a CA
# registered with `simhub x509-ca add` whose CN is the device id connects; one from another CA,
# or with another CN, is refused; `x509-ca` refuses a non-CA file. A SAS device still works.
set -euo pipefail
: "${SIMHUB:?set by ctest}"
for tool in openssl mosquitto_pub jq sqlite3; do
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
# mkca NAME -> a CA; mkleaf CA CN FILE -> a client certificate signed by CA with subject CN
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>/dev/null
}
mkleaf() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$tmp/$3.key" -out "$tmp/$3.csr" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >"$tmp/ext.cnf"
	openssl x509 -req -in "$tmp/$3.csr" -CA "$tmp/$1.pem" -CAkey "$tmp/$1.key" -CAcreateserial \
		-days 2 -extfile "$tmp/ext.cnf" -out "$tmp/$3.pem" 2>/dev/null
}
mkca rootca; mkca rogueca
mkleaf rootca fleet1 fleet1-good; mkleaf rogueca fleet1 fleet1-rogue; mkleaf rootca fleet2 fleet1-wrongcn
db="$tmp/hub.db"
rc=0; "$SIMHUB" x509-ca add bad "$tmp/fleet1-good.pem" --db "$db" 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] && grep -q "not a CA certificate" "$tmp/err" || fail "x509-ca accepted a leaf: rc $rc $(cat "$tmp/err")"; ok
"$SIMHUB" x509-ca add root "$tmp/rootca.pem" --db "$db" 2>/dev/null
"$SIMHUB" x509-ca list --json --db "$db" | jq -e 'length == 1 and .[0].name == "root" and (.[0].subject | test("CN ?= ?rootca"))' >/dev/null || fail "x509-ca list"; ok
"$SIMHUB" device add fleet1 --x509-ca --db "$db" >/dev/null
"$SIMHUB" device show fleet1 --json --db "$db" | jq -e '.authentication.type == "certificateAuthority"' >/dev/null || fail "auth type"; ok
"$SIMHUB" device add cam1 --x509-thumbprint "$(thumb cam1 sha1)" --db "$db" >/dev/null
"$SIMHUB" device add cam2 --x509-thumbprint "$(thumb other sha1)" --x509-thumbprint "$(thumb cam2 sha256)" --db "$db" >/dev/null
"$SIMHUB" device add cam3 --x509-thumbprint "$(thumb other sha256)" --disabled --db "$db" >/dev/null
"$SIMHUB" device add sas1 --db "$db" >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start"
port=$(jq .mqtts "$tmp/ready.json"); ca=$(jq -r .ca "$tmp/ready.json")

# pub DEVICE CERT -> prints mosquitto_pub's exit code; publishes one QoS 1 message
pub() {
	local dev=$1 cert=$2 rc=0
	mosquitto_pub -h localhost -p "$port" --cafile "$ca" --cert "$tmp/$cert.pem" --key "$tmp/$cert.key" \
		-i "$dev" -u "localhost/$dev/?api-version=2021-04-12" -q 1 \
		-t "devices/$dev/messages/events/" -m "from-$dev-$cert" >"$tmp/pub.out" 2>&1 || rc=$?
	echo "$rc"
}
[ "$(pub cam1 cam1)" = 0 ] || fail "cam1 with its own certificate (SHA-1 primary) was refused: $(cat "$tmp/pub.out")"; ok
[ "$(pub cam2 cam2)" = 0 ] || fail "cam2 with its SHA-256 secondary thumbprint was refused: $(cat "$tmp/pub.out")"; ok
[ "$(pub cam1 other)" != 0 ] || fail "cam1 accepted another certificate"; ok
grep -qiE "not authori[sz]ed|refused" "$tmp/pub.out" || fail "cam1 with a wrong certificate: $(cat "$tmp/pub.out")"; ok
[ "$(pub cam3 other)" != 0 ] || fail "a disabled X.509 device was accepted"; ok
[ "$(pub sas1 cam1)" != 0 ] || fail "a SAS device was accepted with a certificate and no password"; ok
[ "$(pub fleet1 fleet1-good)" = 0 ] || fail "a CA-signed certificate was refused: $(cat "$tmp/pub.out")"; ok
[ "$(pub fleet1 fleet1-rogue)" != 0 ] || fail "a certificate from an unregistered CA was accepted"; ok
[ "$(pub fleet1 fleet1-wrongcn)" != 0 ] || fail "a CA-signed certificate for another CN was accepted"; ok
# A SAS device on the same listener, without a client certificate, still works.
tok=$("$SIMHUB" cs sas1 --expiry 600 --db "$db")
mosquitto_pub -h localhost -p "$port" --cafile "$ca" -i sas1 -u "localhost/sas1/?api-version=2021-04-12" \
	-P "$tok" -q 1 -t "devices/sas1/messages/events/" -m "from-sas1" || fail "SAS device refused"; ok
rows=$(sqlite3 "$db" "select device_id || ':' || cast(body as text) from d2c_messages order by seq" | tr '\n' ' ')
[ "$rows" = "cam1:from-cam1-cam1 cam2:from-cam2-cam2 fleet1:from-fleet1-fleet1-good sas1:from-sas1 " ] || fail "stored rows: $rows"; ok
"$SIMHUB" x509-ca rm root --db "$db"
rc=0; "$SIMHUB" x509-ca rm root --db "$db" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "removing a missing CA exited $rc"; ok
kill -TERM "$pid"; wait "$pid" || fail "serve did not stop cleanly"; pid=
echo "test_mqtt_x509: $checks checks passed"
