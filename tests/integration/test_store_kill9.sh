#!/usr/bin/env bash
# test_store_kill9.sh: the store's durability promise under kill -9. A writer
# (helper_store_writer) commits batches into one database and reports each commit; we kill -9
# it mid-stream, reopen the same file with a new writer, and repeat: some rounds run ~1 s,
# others are killed within milliseconds of starting, so crashes also land in open, WAL
# recovery and migration paths. After every round the checker proves that every row up to the
# last reported commit is present and intact, that rolled-back rows never appear, and that the
# file passes PRAGMA integrity_check. Uses a mktemp folder; runs in well under 30 s.
set -euo pipefail

build=${SIMHUB_BUILD_DIR:?SIMHUB_BUILD_DIR must point at the build folder}
helper=""
for cand in "$build/tests/helper_store_writer" "$build/helper_store_writer"; do
	if [ -x "$cand" ]; then helper=$cand; break; fi
done
if [ -z "$helper" ]; then
	helper=$(find "$build" -type f -name helper_store_writer -perm -u+x 2>/dev/null | head -n 1)
fi
[ -n "$helper" ] || { echo "FAIL: helper_store_writer not found under $build"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/simhub-kill9.XXXXXX")
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
db=$tmp/kill9.db

# Seconds each round lets the writer run before kill -9. The tiny ones hit start-up: opening,
# recovering the WAL left by the previous kill, the first BEGIN.
delays=(1.2 0.01 0.8 0.03 1.5 0 0.3 0.005 1.0 0.1 0.6 0.02)
committed=0
rounds_with_commits=0
start=$SECONDS

for i in "${!delays[@]}"; do
	out=$tmp/out.$i
	"$helper" "$db" >"$out" 2>"$tmp/err.$i" &
	pid=$!
	sleep "${delays[$i]}"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null && status=0 || status=$?
	pid=""
	# The writer only ever dies by our signal (137 = 128 + SIGKILL). Anything else is a
	# failure it reported on stderr, except exiting before the kill when it was too quick.
	if [ "$status" -ne 137 ]; then
		echo "FAIL: round $i: writer exited with $status"
		cat "$tmp/err.$i"
		exit 1
	fi
	# Only whole lines count: a line cut by the kill has no "ok" at its end. A writer killed
	# before its shell opened the redirection leaves no file at all.
	last=""
	if [ -f "$out" ]; then
		last=$(grep -E '^committed [0-9]+ ok$' "$out" | tail -n 1 | awk '{print $2}' || true)
	fi
	if [ -n "$last" ]; then
		if [ "$last" -lt "$committed" ]; then
			echo "FAIL: round $i: writer reported seq $last after $committed was committed"
			exit 1
		fi
		committed=$last
		rounds_with_commits=$((rounds_with_commits + 1))
	fi
	if ! "$helper" --check "$db" "$committed" >"$tmp/check.$i" 2>&1; then
		echo "FAIL: round $i (killed after ${delays[$i]} s):"
		cat "$tmp/check.$i"
		exit 1
	fi
	echo "round $i: killed after ${delays[$i]} s; $(cat "$tmp/check.$i")"
done

if [ "$rounds_with_commits" -lt 4 ] || [ "$committed" -lt 1000 ]; then
	echo "FAIL: the writer committed too little to prove anything" \
	     "($rounds_with_commits rounds, $committed rows)"
	exit 1
fi

# An outside reader (the sqlite3 shell) sees the same, healthy file.
if command -v sqlite3 >/dev/null 2>&1; then
	ic=$(sqlite3 "$db" 'PRAGMA integrity_check')
	[ "$ic" = "ok" ] || { echo "FAIL: sqlite3 integrity_check: $ic"; exit 1; }
	rows=$(sqlite3 "$db" 'SELECT count(*) FROM d2c_messages')
	[ "$rows" -ge "$committed" ] || { echo "FAIL: sqlite3 sees $rows rows < $committed"; exit 1; }
fi
echo "PASS: ${#delays[@]} kill -9 rounds, $committed rows committed and intact," \
     "$((SECONDS - start)) s"
