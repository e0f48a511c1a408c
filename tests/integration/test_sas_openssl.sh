#!/usr/bin/env bash
# test_sas_openssl.sh: SAS tokens from helper_sas against the openssl CLI. For random keys
# (openssl rand) and several resource URIs, the signature is computed independently with
# openssl; helper_sas must print the same token, accept it, and refuse it after any one
# character of it is changed (sampled positions), once expired, and for another device.
set -euo pipefail
helper=${SIMHUB_BUILD_DIR:?}/tests/helper_sas
[ -x "$helper" ] || { echo "missing $helper"; exit 1; }
command -v openssl >/dev/null || { echo "openssl CLI not found"; exit 1; }
command -v xxd >/dev/null || { echo "xxd not found"; exit 1; }

fail=0
checks=0
bad() { echo "FAIL: $*"; fail=1; }

# RFC 3986 unreserved kept, everything else %XX upper-case (the Node / Embedded C encoding).
urlencode() {
	local s=$1 out= c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# base64(HMAC-SHA256(decoded key, sr "\n" se)), computed by openssl only.
openssl_sig() { # sr se key_b64
	local hexkey
	hexkey=$(printf '%s' "$3" | openssl base64 -d -A | xxd -p -c 1000)
	printf '%s\n%s' "$1" "$2" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary |
		openssl base64 -A
}

uris=(
	"myhub.azure-devices.net/devices/dev1"
	"myhub.azure-devices.net/devices/dev1/modules/azureiotsecurity"
	"localhost:8883/devices/Sensor-42.a_b~c"
	"hub.example/devices/d(1)!*'@x:y=z\$"
	"myhub.azure-devices.net"
)
se=2000000000
now=1999999999

for round in 1 2 3; do
	for uri in "${uris[@]}"; do
		for keylen in 16 32 64; do
			key=$(openssl rand -base64 "$keylen" | tr -d '\n')
			skn=
			[ "$uri" = "myhub.azure-devices.net" ] && skn=iothubowner
			sr=$(urlencode "$uri")
			sig=$(urlencode "$(openssl_sig "$sr" "$se" "$key")")
			want="SharedAccessSignature sr=$sr&sig=$sig&se=$se${skn:+&skn=$skn}"
			got=$("$helper" sign "$uri" "$key" "$se" $skn)
			checks=$((checks + 1))
			[ "$got" = "$want" ] || { bad "sign $uri (key $keylen bytes)"; echo " want $want"; echo " got  $got"; continue; }

			out=$("$helper" verify "$got" "$uri" "$key" "$now" $skn) || bad "verify $uri: $out"
			[ "$out" = ok ] || bad "verify $uri printed $out"
			out=$("$helper" verify "$got" "$uri" "$key" "$se" $skn) && bad "expired token accepted"
			[ "$out" = expired ] || bad "expired token refused as $out"
			if [ -z "$skn" ]; then
				out=$("$helper" verify "$got" "${uri}0" "$key" "$now" $skn) && bad "wrong scope accepted"
				[ "$out" = wrong-scope ] || bad "wrong scope refused as $out"
			fi
			other=$(openssl rand -base64 32 | tr -d '\n')
			out=$("$helper" verify "$got" "$uri" "$other" "$now" $skn) && bad "wrong key accepted"
			[ "$out" = bad-signature ] || bad "wrong key refused as $out"

			# One character changed anywhere in the token (prefix, separators, sr, sig,
			# se, skn): always refused. Every position in the first round with 32-byte
			# keys, twelve spread positions otherwise.
			len=${#got}
			positions=()
			if [ "$round" = 1 ] && [ "$keylen" = 32 ]; then
				for ((pos = 0; pos < len; pos++)); do positions+=("$pos"); done
			else
				for ((k = 0; k < 12; k++)); do positions+=($(( (k * 7919 + round * 31 + keylen) % len ))); done
			fi
			for pos in "${positions[@]}"; do
				c=${got:pos:1}
				case $c in [Aa]) r=B ;; *) r=A ;; esac
				mutated="${got:0:pos}$r${got:pos+1}"
				checks=$((checks + 1))
				if out=$("$helper" verify "$mutated" "$uri" "$key" "$now" $skn); then
					bad "mutation at $pos ($c->$r) accepted: $mutated"
				fi
			done
		done
	done
done

# The C SDK shape (sr not encoded, empty skn) signed by openssl verifies too.
key=$(openssl rand -base64 32 | tr -d '\n')
uri="myhub.azure-devices.net/devices/dev1"
# lower-case hex in the escapes, as the C SDK sends them over HTTPS
sig=$(printf '%s' "$(urlencode "$(openssl_sig "$uri" "$se" "$key")")" | sed -E 's/%([0-9A-F])([0-9A-F])/%\L\1\2/g')
out=$("$helper" verify "SharedAccessSignature sr=$uri&sig=$sig&se=$se&skn=" "$uri" "$key" "$now") ||
	bad "C SDK shape refused: $out"
checks=$((checks + 1))

[ "$fail" = 0 ] && echo "test_sas_openssl: $checks checks ok"
exit "$fail"
