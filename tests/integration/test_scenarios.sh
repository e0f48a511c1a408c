#!/usr/bin/env bash
# test_scenarios.sh: runs the example scenarios of scenarios/ with `simhub test` against their
# small agents (tests/agents/node-device.js on the official Node device SDK of tests/interop,
# agents/secagent), as CI does. Every NN-*.json below 90 must pass (exit 0); 90-broken-agent-fails
# must fail with exit 1, and its JUnit report must validate against tests/data/junit.xsd and hold
# the expected <failure>. Also checks exit 2 for an invalid scenario and for an agent that cannot
# start. Set SIMHUB_INTEROP_SKIP=1 to skip on purpose (no Node SDK); it says so loudly.
set -euo pipefail
: "${SIMHUB:?set by ctest}"
: "${SIMHUB_SOURCE_DIR:?set by ctest}"
: "${SIMHUB_BUILD_DIR:?set by ctest}"

fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "${SIMHUB_INTEROP_SKIP:-}" = 1 ]; then
	echo "SKIPPED: SIMHUB_INTEROP_SKIP=1 (the example scenarios did not run)"
	exit 0
fi
command -v node >/dev/null || fail "node is missing: the example agents need Node.js 18 or later"
command -v xmllint >/dev/null || fail "xmllint is missing: apt-get install libxml2-utils (scripts/deps.sh)"
simhub=$(cd "$(dirname "$SIMHUB")" && pwd -P)/$(basename "$SIMHUB")
src=$SIMHUB_SOURCE_DIR
export SECAGENT="$SIMHUB_BUILD_DIR/agents/secagent/secagent"
[ -x "$SECAGENT" ] || fail "no secagent at $SECAGENT (it is built with simhub)"
export FLEET="$SIMHUB_BUILD_DIR/agents/fleet/fleet"
[ -x "$FLEET" ] || fail "no fleet at $FLEET (it is built with simhub)"

# The Node SDK: installed by test_node_interop.sh's npm ci; do it here when it has not run yet.
if [ ! -d "$src/tests/interop/node_modules/azure-iot-device-mqtt" ]; then
	(cd "$src/tests/interop" && exec 9<package-lock.json && { command -v flock >/dev/null && flock -w 600 9 || true; } &&
	 { [ -d node_modules/azure-iot-device-mqtt ] || npm ci --no-audit --no-fund; }) ||
		fail "npm ci failed in tests/interop (SIMHUB_INTEROP_SKIP=1 skips these tests)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$src"

# 1. Every example that must pass, in one run (one JUnit file with one suite each).
passing=()
for f in scenarios/[0-8][0-9]-*.json; do passing+=("$f"); done
[ ${#passing[@]} -ge 6 ] || fail "fewer than six example scenarios in scenarios/"
set +e
timeout 600 "$simhub" test "${passing[@]}" --junit "$work/pass.xml" --json "$work/pass.json" >"$work/pass.log" 2>&1
rc=$?
set -e
cat "$work/pass.log"
[ "$rc" -eq 0 ] || fail "the example scenarios did not all pass (exit $rc)"
xmllint --noout --schema tests/data/junit.xsd "$work/pass.xml" || fail "pass.xml does not validate"
[ "$(xmllint --xpath 'count(//testsuite)' "$work/pass.xml")" -eq ${#passing[@]} ] ||
	fail "pass.xml should hold one testsuite per scenario"
[ "$(xmllint --xpath 'count(//failure)' "$work/pass.xml")" -eq 0 ] || fail "pass.xml holds failures"
grep -Eq '"passed":[[:space:]]*true' "$work/pass.json" || fail "the JSON report does not say passed"

# 2. The broken agent: exit 1, a JUnit <failure> naming the step and what was seen.
set +e
timeout 120 "$simhub" test scenarios/90-broken-agent-fails.json --junit "$work/fail.xml" --json "$work/fail.json" \
	>"$work/fail.log" 2>&1
rc=$?
set -e
cat "$work/fail.log"
[ "$rc" -eq 1 ] || fail "the broken agent's scenario should exit 1, got $rc"
grep -q 'expected: reported properties of dev1 to match {"mode":"eco"}' "$work/fail.log" ||
	fail "the progress output does not say what was expected"
grep -q 'seen last: $.properties.reported.mode: expected "eco", got "wrong"' "$work/fail.log" ||
	fail "the progress output does not say what was seen last"
grep -q 'at: scenarios/90-broken-agent-fails.json:[0-9]* $.steps\[3\]' "$work/fail.log" ||
	fail "the progress output does not say where the step is"
xmllint --noout --schema tests/data/junit.xsd "$work/fail.xml" || fail "fail.xml does not validate"
[ "$(xmllint --xpath 'count(/testsuites/testsuite/testcase/failure)' "$work/fail.xml")" -eq 1 ] ||
	fail "fail.xml should hold exactly one <failure>"
[ "$(xmllint --xpath 'string(/testsuites/testsuite/@failures)' "$work/fail.xml")" = 1 ] ||
	fail "the testsuite's failures attribute should be 1"
[ "$(xmllint --xpath 'count(//testcase/skipped)' "$work/fail.xml")" -eq 1 ] ||
	fail "the step after the failure should be skipped"
xmllint --xpath 'string(//testcase[failure]/@name)' "$work/fail.xml" | grep -qx 'reported dev1' ||
	fail "the failed testcase should be 'reported dev1'"
xmllint --xpath 'string(//failure/@message)' "$work/fail.xml" | grep -q 'got "wrong"' ||
	fail "the failure message should say what the agent reported"
xmllint --xpath 'string(//testsuite/system-out)' "$work/fail.xml" | grep -q 'reported {"mode":"wrong"}' ||
	fail "the agent's stdout should be in system-out"

# 3. Exit 2: an invalid scenario file (nothing runs), and an agent that cannot start.
printf '{"name":"bad","steps":[{"expect":"conected","identity":"dev1"}]}\n' >"$work/bad.json"
set +e
"$simhub" test "$work/bad.json" >"$work/bad.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "an invalid scenario should exit 2, got $rc"
grep -q "bad.json:1: \$.steps\[0\]" "$work/bad.log" || { cat "$work/bad.log"; fail "the error should name file:line: path"; }
set +e
"$simhub" test scenarios/01-twin-roundtrip.json --agent '/nonexistent/agent --flag' --junit "$work/nostart.xml" \
	>"$work/nostart.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || { cat "$work/nostart.log"; fail "an agent that cannot start should exit 2, got $rc"; }
grep -q "could not start" "$work/nostart.log" || fail "the output should say the agent could not start"
xmllint --noout --schema tests/data/junit.xsd "$work/nostart.xml" || fail "nostart.xml does not validate"
echo "PASS: example scenarios, the failing one, and exit codes"
