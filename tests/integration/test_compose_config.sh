#!/usr/bin/env bash
# test_compose_config.sh: checks docker-compose.yml, Dockerfile and .dockerignore without a
# Docker daemon (none runs in CI): `docker-compose config -q` must accept the compose file, and
# the promises made in ARCHITECTURE.md "Ports, names and TLS" must hold (ports published on
# loopback only, the simhub.azure-devices.net alias, /data on a volume, the default command).
# Never builds or starts a container. Needs the Debian package docker-compose.
set -euo pipefail

src=${SIMHUB_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

if ! command -v docker-compose >/dev/null 2>&1; then
	echo "docker-compose is not installed: apt-get install docker-compose" >&2
	exit 1
fi

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
want='"serve", "--fixtures", "/usr/share/simhub/fixtures/demo", "--db", "/data/simhub.db", "--hostname", "simhub.azure-devices.net"'
[ "$cmd" = "CMD [$want]" ] || fail "default command is: $cmd"
# Every option of the default command must be one `simhub serve` accepts.
if [ -n "${SIMHUB:-}" ]; then
	for opt in $(grep -oE '"--[a-z-]+"' <<<"$cmd" | tr -d '"'); do
		"$SIMHUB" serve --help | grep -qE -- "^  $opt( |$)" || fail "the image runs 'serve $opt', which simhub serve does not accept"
	done
fi
grep -qE '^COPY fixtures/demo/ /usr/share/simhub/fixtures/demo/$' Dockerfile || fail "demo fixtures are not copied"
grep -qE -- '-DSIMHUB_TESTS=OFF' Dockerfile || fail "image build does not turn tests off"

# .dockerignore must not hide what the image build needs.
while IFS= read -r pat; do
	case "$pat" in
	"" | \#*) ;;
	simhub | simhub/ | fixtures | fixtures/ | fixtures/demo | CMakeLists.txt | \*)
		fail ".dockerignore excludes $pat, which the build needs" ;;
	esac
done <.dockerignore

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "compose config: ok"
