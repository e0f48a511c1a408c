# deps.sh: sourced by scripts/run and scripts/test. Installs the Debian 12 packages simhub needs,
# only those missing (quick and idempotent when everything is present). Runs as root.

# Build and runtime packages.
SIMHUB_BUILD_PKGS="build-essential cmake pkg-config libwebsockets-dev libcjson-dev libsqlite3-dev
  libssl-dev libmosquitto-dev"
# What the test suite adds: check (unit tests), clang and its runtime (libFuzzer), the openssl
# and sqlite3 command lines (known-answer vectors, reading the store), jq and xxd for test
# scripts, mosquitto clients, and
# docker-compose (validates docker-compose.yml without a Docker engine), and xmllint
# (libxml2-utils: JUnit reports validated against tests/data/junit.xsd).
SIMHUB_TEST_PKGS="check clang libclang-rt-14-dev openssl sqlite3 jq xxd mosquitto-clients docker-compose
  libxml2-utils"

simhub_install() {
	local missing=()
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "simhub: missing Debian packages: ${missing[*]}" >&2
		echo "simhub: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
		return 1
	fi
	echo "simhub: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || return 1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
}

# Node.js and npm run the interop tests with the official Azure IoT SDKs. A machine may already
# have them from elsewhere (e.g. a nodejs package that bundles npm): only when the commands are
# missing are Debian's nodejs and npm installed.
simhub_install_node() {
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		return 0
	fi
	local pkgs=()
	command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
	command -v npm >/dev/null 2>&1 || pkgs+=(npm)
	simhub_install "${pkgs[@]}"
}

simhub_jobs() {
	nproc 2>/dev/null || echo 2
}
