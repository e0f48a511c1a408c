#!/usr/bin/env bash
# test_node_interop.sh: runs tests/interop (the official Azure IoT Node.js device and service SDKs
# from npm, pinned by package-lock.json, unmodified) against the simhub binary ctest built. Installs the packages with
# `npm ci` when node_modules is missing or was installed from another lock file; never edits the
# lock file. Set SIMHUB_INTEROP_SKIP=1 to skip on purpose (e.g. offline); it says so loudly.
set -euo pipefail
: "${SIMHUB:?set by ctest}"
: "${SIMHUB_SOURCE_DIR:?set by ctest}"

if [ "${SIMHUB_INTEROP_SKIP:-}" = 1 ]; then
	echo "SKIPPED: SIMHUB_INTEROP_SKIP=1 (the Node SDK interop tests did not run)"
	exit 0
fi

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null ||
	fail "node is missing: the interop tests need Node.js 18 or later (Debian 12: apt-get install nodejs npm)"
command -v npm >/dev/null ||
	fail "npm is missing: the interop tests install the Azure IoT SDKs with npm (Debian 12: apt-get install npm)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || fail "node $(node --version) is too old: the interop tests need Node.js 18 or later"
command -v sqlite3 >/dev/null || fail "sqlite3 is missing: apt-get install sqlite3"
command -v sha256sum >/dev/null || fail "sha256sum is missing (coreutils)"

simhub=$(cd "$(dirname "$SIMHUB")" && pwd -P)/$(basename "$SIMHUB")
[ -x "$simhub" ] || fail "no simhub binary at $SIMHUB"
dir="$SIMHUB_SOURCE_DIR/tests/interop"
cd "$dir"

# One installer at a time: two build folders may run ctest at once on the same source tree.
# The lock is taken on package-lock.json, which npm ci reads but never writes.
exec 9<package-lock.json
if command -v flock >/dev/null; then
	flock -w 600 9 || fail "timed out waiting for another npm ci in $dir"
fi

want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
stamp=node_modules/.simhub-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "installing the pinned SDKs: npm ci in $dir"
	npm ci --no-audit --no-fund ||
		fail "npm ci failed in $dir (is the npm registry reachable? SIMHUB_INTEROP_SKIP=1 skips these tests)"
	echo "$want" >"$stamp"
fi
exec 9<&-

echo "node $(node --version), simhub $simhub"
# The service SDK files make their own CA and pass it to a child run (hub.js runWithSharedCa); a
# value left in the environment would make them skip that step and trust another CA.
unset SIMHUB_INTEROP_CA_DIR
SIMHUB="$simhub" timeout 240 node --test ./*.test.js
