#!/usr/bin/env bash
# test_scenario_features.sh: proves every scenario action, fault and expectation of `simhub test`
# does what docs/scenarios.md says, with the scenarios of tests/scenarios/ and their agent
# tests/agents/node-device.js (the official Node device SDK of tests/interop): throttle,
# withheld and delayed PUBACKs, the real hub's fault-injection message properties, identity
# create/disable/enable/delete, agent stop/start/restart (and SIGKILL after the grace), captures,
# C2D completed/rejected/abandoned, alerts, and `nothing` over each kind. Every NN-*.json below 90
# must pass (exit 0, JUnit valid, no failure); every 9N-*.json must fail (exit 1) at exactly
# its step named "violated" and nowhere else, so the checks of the passing ones can fail.
# Set SIMHUB_INTEROP_SKIP=1 to skip on purpose (no Node SDK); it says so loudly.
set -euo pipefail
: "${SIMHUB:?set by ctest}"
: "${SIMHUB_SOURCE_DIR:?set by ctest}"
: "${SIMHUB_BUILD_DIR:?set by ctest}"

fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "${SIMHUB_INTEROP_SKIP:-}" = 1 ]; then
	echo "SKIPPED: SIMHUB_INTEROP_SKIP=1 (the scenario feature tests did not run)"
	exit 0
fi
command -v node >/dev/null || fail "node is missing: the test agent needs Node.js 18 or later"
command -v xmllint >/dev/null || fail "xmllint is missing: apt-get install libxml2-utils (scripts/deps.sh)"
simhub=$(cd "$(dirname "$SIMHUB")" && pwd -P)/$(basename "$SIMHUB")
src=$SIMHUB_SOURCE_DIR

# The Node SDK: installed by test_node_interop.sh's npm ci; do it here when it has not run yet.
if [ ! -d "$src/tests/interop/node_modules/azure-iot-device-http" ]; then
	(cd "$src/tests/interop" && exec 9<package-lock.json && { command -v flock >/dev/null && flock -w 600 9 || true; } &&
	 { [ -d node_modules/azure-iot-device-http ] || npm ci --no-audit --no-fund; }) ||
		fail "npm ci failed in tests/interop (SIMHUB_INTEROP_SKIP=1 skips these tests)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"
cd "$src"

# 1. Every feature scenario that must pass, in one run.
passing=()
for f in tests/scenarios/[0-8][0-9]-*.json; do passing+=("$f"); done
[ ${#passing[@]} -ge 13 ] || fail "feature scenarios are missing from tests/scenarios/"
set +e
timeout 900 "$simhub" test "${passing[@]}" --junit "$work/pass.xml" --json "$work/pass.json" >"$work/pass.log" 2>&1
rc=$?
set -e
cat "$work/pass.log"
[ "$rc" -eq 0 ] || fail "the feature scenarios did not all pass (exit $rc)"
xmllint --noout --schema tests/data/junit.xsd "$work/pass.xml" || fail "pass.xml does not validate"
[ "$(xmllint --xpath 'count(//testsuite)' "$work/pass.xml")" -eq ${#passing[@]} ] ||
	fail "pass.xml should hold one testsuite per scenario"
[ "$(xmllint --xpath 'count(//failure) + count(//error) + count(//skipped)' "$work/pass.xml")" -eq 0 ] ||
	fail "pass.xml holds failures, errors or skipped steps"
grep -Eq '"passed":[[:space:]]*true' "$work/pass.json" || fail "the JSON report does not say passed"

# Things only the progress output shows: SIGKILL after the grace of an agent ignoring SIGTERM
# (three times: stop, restart, the end), and the stop step waiting for that grace.
[ "$(grep -c 'agent stopped (signal 9)' "$work/pass.log")" -ge 3 ] ||
	fail "the agent that ignores SIGTERM should be stopped with SIGKILL"
grep -Eq 'ok    stop-agent \(1\.[0-9][0-9]s\)' "$work/pass.log" ||
	fail "stop-agent with grace 1s should take about a second for an agent that ignores SIGTERM"

# 2. Every scenario that must fail: exit 1, each suite fails exactly once, at "violated", with
# the rest passed (nothing skipped after it: "violated" is each one's last step).
failing=()
for f in tests/scenarios/9[0-9]-*.json; do failing+=("$f"); done
[ ${#failing[@]} -ge 10 ] || fail "must-fail scenarios are missing from tests/scenarios/"
set +e
timeout 600 "$simhub" test "${failing[@]}" --junit "$work/fail.xml" >"$work/fail.log" 2>&1
rc=$?
set -e
cat "$work/fail.log"
[ "$rc" -eq 1 ] || fail "the must-fail scenarios should exit 1, got $rc"
xmllint --noout --schema tests/data/junit.xsd "$work/fail.xml" || fail "fail.xml does not validate"
n=${#failing[@]}
[ "$(xmllint --xpath 'count(//testsuite)' "$work/fail.xml")" -eq "$n" ] || fail "fail.xml: one testsuite per scenario"
for i in $(seq 1 "$n"); do
	suite="/testsuites/testsuite[$i]"
	name=$(xmllint --xpath "string($suite/@name)" "$work/fail.xml")
	[ "$(xmllint --xpath "count($suite/testcase/failure)" "$work/fail.xml")" -eq 1 ] ||
		fail "\"$name\" should fail exactly once"
	[ "$(xmllint --xpath "string($suite/testcase[failure]/@name)" "$work/fail.xml")" = violated ] ||
		fail "\"$name\" should fail at its step \"violated\""
	[ "$(xmllint --xpath "count($suite/testcase/error) + count($suite/testcase/skipped)" "$work/fail.xml")" -eq 0 ] ||
		fail "\"$name\" has errors or skipped steps"
done
for kind in telemetry security-event alert c2d-settled connect disconnect reported-change method-call; do
	grep -q "expected: no $kind for" "$work/fail.log" || fail "no scenario shows 'nothing of $kind' failing"
done
echo "PASS: ${#passing[@]} feature scenarios passed and ${#failing[@]} must-fail scenarios failed where they should"
