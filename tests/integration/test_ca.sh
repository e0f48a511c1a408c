#!/usr/bin/env bash
# test_ca.sh: `simhub ca` end to end: the TLS folder next to --db (database never created),
# the trust guide, --json, file modes, the chain and SANs as the openssl CLI sees them, reuse
# without rewriting, re-issue on a name change with the CA kept, usage and I/O errors, and real
# TLS handshakes against `openssl s_server` serving the issued certificate.
set -euo pipefail
: "${SIMHUB:?set by ctest}"
for tool in jq openssl timeout sha256sum; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool"; exit 1; }
done
tmp=$(cd "$(mktemp -d)" && pwd -P)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
checks=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); }
hub_name=myhub.azure-devices.net
tls="$tmp/tls"
ca="$tls/ca.pem"

# --- first run: prints the CA path and the trust guide, creates the files, not the database ------
out=$("$SIMHUB" ca --db "$tmp/x.db" --hostname "$hub_name")
grep -qxF "CA certificate: $ca" <<<"$out" || fail "no CA path line in: $out"; ok
for want in "NODE_EXTRA_CA_CERTS=$ca" "setOptions({ ca: fs.readFileSync(\"$ca\"" "OPTION_TRUSTED_CERT" \
	    "\"TrustedCerts\"" "--cafile $ca" "--cacert $ca" "-CAfile $ca" "issued now" \
	    "names: localhost, 127.0.0.1, ::1, $hub_name"; do
	grep -qF -- "$want" <<<"$out" || fail "guide lacks '$want': $out"; ok
done
[ ! -e "$tmp/x.db" ] || fail "simhub ca created the database"; ok
for f in ca.pem ca.key server.pem server.key; do [ -s "$tls/$f" ] || fail "no $tls/$f"; done; ok
[ "$(stat -c %a "$tls/ca.key")" = 600 ] && [ "$(stat -c %a "$tls/server.key")" = 600 ] ||
	fail "keys are not 0600: $(stat -c '%n %a' "$tls"/*.key)"; ok
[ "$(stat -c %a "$tls")" = 700 ] || fail "tls folder is not 0700"; ok

# --- the openssl CLI agrees: chain, purpose, names ---------------------------------------------------
openssl verify -CAfile "$ca" "$tls/server.pem" | grep -qx "$tls/server.pem: OK" || fail "openssl verify"; ok
openssl verify -x509_strict -purpose sslserver -CAfile "$ca" "$tls/server.pem" >/dev/null ||
	fail "openssl verify -x509_strict -purpose sslserver"; ok
sans=$(openssl x509 -in "$tls/server.pem" -noout -ext subjectAltName | tail -n +2 | sed 's/^ *//')
[ "$sans" = "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:$hub_name" ] ||
	fail "SANs are: $sans"; ok
openssl x509 -in "$ca" -noout -subject | grep -q "CN = simhub local CA" || fail "CA subject"; ok
openssl x509 -in "$ca" -noout -ext basicConstraints | grep -q "CA:TRUE" || fail "CA basicConstraints"; ok

# --- --json --------------------------------------------------------------------------------------
json=$("$SIMHUB" ca --db "$tmp/x.db" --hostname "$hub_name" --json)
[ "$(jq -r .ca <<<"$json")" = "$ca" ] || fail "json .ca: $json"; ok
[ "$(jq -r .cert <<<"$json")" = "$tls/server.pem" ] || fail "json .cert: $json"; ok
[ "$(jq -r .key <<<"$json")" = "$tls/server.key" ] || fail "json .key: $json"; ok
[ "$(jq -c .sans <<<"$json")" = "[\"localhost\",\"127.0.0.1\",\"::1\",\"$hub_name\"]" ] ||
	fail "json .sans: $json"; ok

# --- reuse: same names, and no --hostname at all, rewrite nothing -----------------------------------
fingerprint() { (cd "$tls" && stat -c '%n %i %y' ca.pem ca.key server.pem server.key && sha256sum ca.pem server.pem); }
before=$(fingerprint)
out=$("$SIMHUB" ca --db "$tmp/x.db" --hostname "$hub_name")
! grep -q "issued now" <<<"$out" || fail "second run re-issued"; ok
out=$("$SIMHUB" ca --db "$tmp/x.db")
grep -qF "names: localhost, 127.0.0.1, ::1, $hub_name" <<<"$out" || fail "names not kept: $out"; ok
[ "$(fingerprint)" = "$before" ] || fail "files changed on reuse: $before vs $(fingerprint)"; ok

# --- a changed name set re-issues the server certificate and keeps the CA -----------------------
ca_sum=$(sha256sum <"$ca")
server_sum=$(sha256sum <"$tls/server.pem")
"$SIMHUB" ca --db "$tmp/x.db" --hostname "$hub_name" --hostname 10.9.8.7 --json >"$tmp/j"
[ "$(jq -c .sans "$tmp/j")" = "[\"localhost\",\"127.0.0.1\",\"::1\",\"$hub_name\",\"10.9.8.7\"]" ] ||
	fail "sans after adding a name: $(cat "$tmp/j")"; ok
[ "$(sha256sum <"$ca")" = "$ca_sum" ] || fail "CA changed"; ok
[ "$(sha256sum <"$tls/server.pem")" != "$server_sum" ] || fail "server cert not re-issued"; ok
openssl verify -CAfile "$ca" "$tls/server.pem" >/dev/null || fail "re-issued cert does not verify"; ok
"$SIMHUB" ca --db "$tmp/x.db" --hostname localhost --json | jq -e '.sans | length == 3' >/dev/null ||
	fail "--hostname localhost did not go back to the defaults"; ok
"$SIMHUB" ca --db "$tmp/x.db" --hostname "$hub_name" >/dev/null

# --- folder rules: relative --db gives absolute paths; :memory: uses the per-user state folder ---
mkdir "$tmp/rel"
got=$(cd "$tmp/rel" && "$SIMHUB" ca --db data/h.db --json | jq -r .ca)
[ "$got" = "$tmp/rel/data/tls/ca.pem" ] || fail "relative --db: ca at $got"; ok
got=$(XDG_STATE_HOME="$tmp/state" "$SIMHUB" ca --db :memory: --json | jq -r .ca)
[ "$got" = "$tmp/state/simhub/tls/ca.pem" ] || fail ":memory: ca at $got"; ok
got=$(env -u XDG_STATE_HOME HOME="$tmp/home" "$SIMHUB" ca --db :memory: --json | jq -r .ca)
[ "$got" = "$tmp/home/.local/state/simhub/tls/ca.pem" ] || fail ":memory: without XDG: ca at $got"; ok

# --- errors ---------------------------------------------------------------------------------------
rc=0; "$SIMHUB" ca --db "$tmp/y/y.db" --hostname "bad name" 2>"$tmp/err" >/dev/null || rc=$?
[ "$rc" = 2 ] && grep -q "bad name" "$tmp/err" || fail "bad hostname: rc $rc, $(cat "$tmp/err")"; ok
[ ! -e "$tmp/y" ] || fail "a bad hostname still created $tmp/y"; ok
echo x >"$tmp/afile"
rc=0; "$SIMHUB" ca --db "$tmp/afile/x.db" 2>"$tmp/err" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -qF "$tmp/afile" "$tmp/err" || fail "unwritable folder: rc $rc, $(cat "$tmp/err")"; ok
rc=0; "$SIMHUB" ca --db "$tmp/x.db" --bogus 2>/dev/null >/dev/null || rc=$?
[ "$rc" = 2 ] || fail "unknown option: rc $rc"; ok
"$SIMHUB" ca --help | grep -q "never opened" || fail "--help does not say the database is not opened"; ok
"$SIMHUB" --help | grep -qE "^  ca " || fail "top-level help does not list 'ca'"; ok

# --- a real TLS handshake with the issued certificate ---------------------------------------------
# s_server cannot report a port it picked, so try random free-looking ports until one binds.
port=
for _ in $(seq 1 30); do
	p=$((20000 + RANDOM % 40000))
	openssl s_server -accept "127.0.0.1:$p" -cert "$tls/server.pem" -key "$tls/server.key" \
		-www -quiet >"$tmp/s_server.out" 2>&1 </dev/null &
	server_pid=$!
	for _ in $(seq 1 50); do
		kill -0 "$server_pid" 2>/dev/null || break
		# -quiet hides ACCEPT; a successful TCP connect tells us it listens
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			# someone else may own the port while our server is dying of EADDRINUSE
			sleep 0.2
			kill -0 "$server_pid" 2>/dev/null && port=$p
			break
		fi
		sleep 0.1
	done
	[ -n "$port" ] && break
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
done
[ -n "$port" ] || fail "could not start openssl s_server on any port: $(cat "$tmp/s_server.out")"

handshake() {  # handshake NAME CAFILE [extra s_client args]: exit status of s_client
	local name=$1 cafile=$2; shift 2
	timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile "$cafile" -verify_return_error \
		-servername "$name" "$@" </dev/null >"$tmp/s_client.out" 2>&1
}
handshake "$hub_name" "$ca" -verify_hostname "$hub_name" || fail "handshake as $hub_name: $(cat "$tmp/s_client.out")"
grep -q "Verify return code: 0 (ok)" "$tmp/s_client.out" || fail "handshake did not verify: $(cat "$tmp/s_client.out")"; ok
handshake localhost "$ca" -verify_hostname localhost || fail "handshake as localhost"; ok
handshake 127.0.0.1 "$ca" -verify_ip 127.0.0.1 || fail "handshake as 127.0.0.1"; ok
# ... and the checks on the client side are real: a name not in the certificate, or another CA, fail.
! handshake other.azure-devices.net "$ca" -verify_hostname other.azure-devices.net || fail "wrong name accepted"; ok
! handshake "$hub_name" "$tmp/state/simhub/tls/ca.pem" || fail "another CA accepted"; ok

echo "test_ca: $checks checks passed"
