#!/usr/bin/env bash
# test_compose_config.sh: checks docker-compose.yml, Dockerfile and .dockerignore without a
# Docker daemon (none runs in CI): `docker-compose config -q` must accept the compose file, and
# the promises made in ARCHITECTURE.md "Ports, names and TLS" must hold (ports published on
# loopback only, the simhub.azure-devices.net alias, /data on a volume, the default command with
# --bind 0.0.0.0); the secagent service connects through the alias over TLS with the CA of the
# shared read-only data volume and the demo module's key; the replay service exists only in the
# `replay` profile and plays the shipped recording; the image builds and ships secagent and
# fleet. Never builds or starts a container. Needs the Debian packages docker-compose and jq.
set -euo pipefail

src=${SIMHUB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

for tool in docker-compose jq; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$tool is not installed: apt-get install $tool" >&2
		exit 1
	fi
done

cd "$src"
for f in docker-compose.yml Dockerfile .dockerignore fixtures/demo; do
	[ -e "$f" ] || fail "$f is missing"
done
[ "$fails" -eq 0 ] || exit 1

# Syntax and schema, as docker-compose itself sees them.
docker-compose -f docker-compose.yml config -q || { echo "FAIL: docker-compose config -q" >&2; exit 1; }
cfg=$(docker-compose -f docker-compose.yml config)

# Every published port is bound to 127.0.0.1, and the three IoT Hub ports are there.
ports=$(printf '%s\n' "$cfg" | sed -n '/^    ports:/,/^    [a-z]/p' | grep -E '^    - ' || true)
[ -n "$ports" ] || fail "no published ports"
while IFS= read -r line; do
	case "$line" in
	"    - 127.0.0.1:"*) ;;
	*) fail "port not bound to loopback: $line" ;;
	esac
done <<<"$ports"
for p in 8883 443 1883; do
	grep -qE "^    - 127\.0\.0\.1:$p:$p(/tcp)?$" <<<"$ports" || fail "port $p is not published on 127.0.0.1:$p"
done

grep -qE '^        - simhub\.azure-devices\.net$' <<<"$cfg" || fail "network alias simhub.azure-devices.net missing"
grep -qE '^    - simhub-data:/data(:rw)?$' <<<"$cfg" || fail "named volume simhub-data is not mounted on /data"
grep -qE '^  simhub-data:' <<<"$cfg" || fail "volume simhub-data is not declared"
grep -qE '^      dockerfile: Dockerfile$' <<<"$cfg" || fail "service is not built from Dockerfile"

# The Dockerfile: bookworm stages, the entrypoint and the default command of the brief.
grep -qE '^FROM debian:bookworm AS build$' Dockerfile || fail "build stage is not debian:bookworm"
grep -qE '^FROM debian:bookworm-slim$' Dockerfile || fail "runtime stage is not debian:bookworm-slim"
grep -qF 'ENTRYPOINT ["simhub"]' Dockerfile || fail "entrypoint is not simhub"
cmd=$(sed -n '/^CMD \[/,/\]$/{s/ *\\$//;p;}' Dockerfile | tr -d '\n' | tr -s ' ')
want='"serve", "--fixtures", "/usr/share/simhub/fixtures/demo", "--db", "/data/simhub.db", "--hostname", "simhub.azure-devices.net", "--bind", "0.0.0.0"'
[ "$cmd" = "CMD [$want]" ] || fail "default command is: $cmd"
# Every option of the default command must be one `simhub serve` accepts.
if [ -n "${SIMHUB:-}" ]; then
	for opt in $(grep -oE '"--[a-z-]+"' <<<"$cmd" | tr -d '"'); do
		"$SIMHUB" serve --help | grep -qE -- "^  $opt( |$)" || fail "the image runs 'serve $opt', which simhub serve does not accept"
	done
fi
grep -qE '^COPY fixtures/ /usr/share/simhub/fixtures/$' Dockerfile ||
	fail "fixtures (demo/ and recordings/) are not copied to /usr/share/simhub/fixtures/"
grep -qE -- '-DSIMHUB_TESTS=OFF' Dockerfile || fail "image build does not turn tests off"

# .dockerignore must not hide what the image build needs.
while IFS= read -r pat; do
	case "$pat" in
	"" | \#*) ;;
	simhub | simhub/ | fixtures | fixtures/ | fixtures/demo | fixtures/recordings | agents | agents/ | \
		CMakeLists.txt | \*)
		fail ".dockerignore excludes $pat, which the build needs" ;;
	esac
done <.dockerignore

# --- the agents in the image ---------------------------------------------------------------
grep -qE -- '--target simhub secagent fleet' Dockerfile || fail "the build stage does not build secagent and fleet"
for b in secagent fleet; do
	grep -qE "install -m 0755 /build/agents/$b/$b /usr/local/bin/$b" Dockerfile || fail "$b is not installed in the build stage"
	grep -qE "^COPY --from=build .*/usr/local/bin/$b .*/usr/local/bin/$" Dockerfile || fail "the runtime image does not ship $b"
done

# --- services and profiles ----------------------------------------------------------------
# svc NAME [CFG]: the block of one service in a `docker-compose config` output
svc() { printf '%s\n' "${2:-$cfg}" | awk -v n="  $1:" '$0 == n {on = 1; next} on && /^  [a-z]/ {on = 0} on'; }
# (docker-compose 1.29 lists profiled services in `config` whatever --profile says, so the
# profile is checked on the service itself.)
rservices=$(docker-compose -f docker-compose.yml --profile replay config --services | sort | tr '\n' ' ')
[ "$rservices" = "replay secagent simhub " ] || fail "services: $rservices (want replay secagent simhub)"
rcfg=$(docker-compose -f docker-compose.yml --profile replay config)
# flat NAME: a service's block on one line (docker-compose folds long commands)
flat() { svc "$1" "$rcfg" | tr '\n' ' ' | tr -s ' '; }
replay=$(svc replay "$rcfg")
secagent=$(svc secagent)
simhub=$(svc simhub)
grep -qE '^    profiles:$' <<<"$replay" && grep -qE '^    - replay$' <<<"$replay" || fail "replay is not in profile replay"
grep -q 'profiles' <<<"$secagent$simhub" && fail "secagent and simhub must run without a profile"

# simhub's command is the image's, --bind 0.0.0.0 included
scmd=$(sed -n '/^    command:$/,/^    [a-z]/p' <<<"$simhub" | sed -n 's/^    - //p' | sed 's/.*/"&"/' | paste -sd, | sed 's/,/, /g')
[ "$scmd" = "$want" ] || fail "the simhub service's command is [$scmd], not the image's [$want]"

# both agents share simhub's volume read-only and join the network that has the alias
for name in secagent replay; do
	block=$secagent
	[ "$name" = replay ] && block=$replay
	grep -qE '^    - simhub-data:/hub:ro$' <<<"$block" || fail "$name does not mount simhub-data read-only on /hub"
	grep -qE '^      iothub: ' <<<"$block" || fail "$name is not on the iothub network"
	grep -qE '^    image: simhub:local$' <<<"$block" || fail "$name does not run the simhub image"
	line=$(flat "$name")
	grep -q 'until \[ -s /hub/tls/ca.pem \]' <<<"$line" || fail "$name does not wait for the CA file"
	grep -q -- '--ca /hub/tls/ca.pem' <<<"$line" || fail "$name does not trust /hub/tls/ca.pem"
	grep -q -- '--host simhub.azure-devices.net' <<<"$line" || fail "$name does not dial the alias simhub.azure-devices.net"
done
grep -q 'exec secagent ' <<<"$(flat secagent)" || fail "the secagent service does not run secagent"
grep -q -- '--mqtt-port' <<<"$secagent" && fail "the secagent service must use TLS, not plain MQTT"
# the credentials are the demo fixture's published ones
modkey=$(jq -r '.devices[] | select(.id == "demo-device-01") | .modules[] | select(.id == "azureiotsecurity") |
	.authentication.primaryKey' fixtures/demo/10-devices.json)
grep -qF "SECAGENT_CONNECTION_STRING: HostName=simhub.azure-devices.net;DeviceId=demo-device-01;ModuleId=azureiotsecurity;SharedAccessKey=$modkey" <<<"$secagent" ||
	fail "secagent does not use demo-device-01/azureiotsecurity's fixture key ($modkey) with the alias"
ownerkey=$(jq -r '.policies[] | select(.name == "iothubowner") | .primaryKey' fixtures/demo/00-hub.json)
grep -qF "SERVICE_CS: HostName=simhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=$ownerkey" <<<"$replay" ||
	fail "replay does not use the demo iothubowner policy"
rec=fixtures/recordings/secagent-demo.jsonl
grep -q "exec fleet replay /usr/share/simhub/$rec " <<<"$(flat replay)" || fail "replay does not play /usr/share/simhub/$rec"
grep -q -- '--service-cs "\$\$SERVICE_CS" --create' <<<"$(flat replay)" || fail "replay does not create its identities"
[ -e "$rec" ] || echo "note: $rec is not in the tree yet: the replay service needs it at run time" >&2

# every option the services pass is one the programs accept
if [ -n "${SIMHUB_BUILD_DIR:-}" ]; then
	for pair in "secagent:agents/secagent/secagent:" "replay:agents/fleet/fleet:replay"; do
		IFS=: read -r name bin verb <<<"$pair"
		[ -x "$SIMHUB_BUILD_DIR/$bin" ] || { fail "$bin is not built"; continue; }
		# shellcheck disable=SC2086
		help=$("$SIMHUB_BUILD_DIR/$bin" $verb --help)
		for opt in $(grep -oE -- ' --[a-z-]+' <<<"$(flat "$name")" | sort -u); do
			grep -qE -- "(^| |,)$opt( |$|,)" <<<"$help" || fail "the $name service passes $opt, which $bin $verb does not accept"
		done
	done
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "compose config: ok"
