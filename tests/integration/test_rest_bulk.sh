#!/usr/bin/env bash
# test_rest_bulk.sh: the bulk registry operation POST /devices of a real `simhub serve`, with curl:
# create, update (plain and IfMatchETag), delete (plain and IfMatchETag), updateTwin (plain and
# IfMatchETag), per-item errors (409001, 412001, 404001, 400004) while the other items still
# apply, the 400 answers (not an array, empty, 101 items, not JSON) and the RegistryWrite right.
set -euo pipefail
: "${SIMHUB:?set by ctest}" "${SIMHUB_BUILD_DIR:?}"
for tool in curl jq; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
db="$tmp/hub.db"
"$SIMHUB" device add dev1 --db "$db" >/dev/null
"$SIMHUB" serve --db "$db" --mqtt-port 0 --mqtts-port 0 --https-port 0 --ready-file "$tmp/ready.json" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || fail "simhub did not start: $(cat "$tmp/serve.err")"
base="https://localhost:$(jq .https "$tmp/ready.json")"
ca=$(jq -r .ca "$tmp/ready.json")
owner=$("$SIMHUB" cs --policy iothubowner --expiry 1h --db "$db")
rread=$("$SIMHUB" cs --policy registryRead --expiry 1h --db "$db")

# call METHOD PATH [BODY] [extra curl args...] -> status in $status, body in $tmp/body
call() {
	local m=$1 p=$2 body=${3:-}; shift 3 || shift $#
	local args=(-s --cacert "$ca" -X "$m" -o "$tmp/body" -w '%{http_code}')
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json; charset=utf-8' --data-binary "$body")
	local a=${auth-$owner}
	[ -n "$a" ] && args+=(-H "Authorization: $a")
	status=$(curl "${args[@]}" "$@" "$base$p?api-version=2021-04-12")
}
expect_status() { [ "$status" = "$1" ] || fail "$2: status $status, body $(cat "$tmp/body")"; ok; }
errcode() { jq -r '.Message | fromjson | .errorCode' "$tmp/body"; }
jqb() { jq -c "$1" "$tmp/body"; }

# --- rights and whole-request errors -----------------------------------------------------------
auth="$rread" call POST /devices '[{"id":"r1","importMode":"create"}]'; expect_status 401 "registryRead cannot bulk"
call GET /devices/r1 ""; expect_status 404 "nothing created without the right"
call POST /devices '{"id":"x","importMode":"create"}'; expect_status 400 "an object, not an array"
[ "$(errcode)" = 400004 ] || fail "400004 for a non-array"; ok
call POST /devices '[]'; expect_status 400 "empty array"
call POST /devices '[{"id":'; expect_status 400 "not JSON"
big=$(jq -cn '[range(101) | {id: "big\(.)", importMode: "create"}]')
call POST /devices "$big"; expect_status 400 "101 items"
call GET /devices/big0 ""; expect_status 404 "nothing of a refused request applies"
full=$(jq -cn '[range(100) | {id: "many\(.)", importMode: "create"}]')
call POST /devices "$full"; expect_status 200 "100 items"
[ "$(jqb .isSuccessful)" = true ] || fail "100 items: $(cat "$tmp/body")"; ok
call GET /statistics/devices ""; [ "$(jqb .totalDeviceCount)" = 101 ] || fail "count after 100: $(cat "$tmp/body")"; ok

# --- create: all good, then a mix ----------------------------------------------------------------
call POST /devices '[{"id":"b1","importMode":"create","status":"disabled","statusReason":"spare","tags":{"site":"a"},"properties":{"desired":{"rate":5}}},{"id":"b2","importMode":"create","authentication":{"type":"sas","symmetricKey":{"primaryKey":"","secondaryKey":""}}}]'
expect_status 200 "bulk create"
[ "$(jqb .)" = '{"isSuccessful":true,"errors":[],"warnings":[]}' ] || fail "create answer: $(cat "$tmp/body")"; ok
call GET /devices/b1 ""; expect_status 200 "b1 exists"
[ "$(jq -r '.status + "/" + .statusReason' "$tmp/body")" = disabled/spare ] || fail "b1 fields"; ok
call GET /twins/b1 ""; expect_status 200 "b1 twin"
[ "$(jqb '[.tags.site, .properties.desired.rate]')" = '["a",5]' ] || fail "b1 twin: $(cat "$tmp/body")"; ok
call GET /devices/b2 ""; [ "$(jq -r '.authentication.symmetricKey.primaryKey | length' "$tmp/body")" = 44 ] || fail "b2 key"; ok

call POST /devices '[{"id":"b1","importMode":"create"},{"id":"b3","importMode":"create"},{"id":"bad id","importMode":"create"},{"id":"b4","importMode":"explode"},{"importMode":"create"},{"id":"b5","importMode":"Create"}]'
expect_status 200 "mixed create"
[ "$(jqb .isSuccessful)" = false ] || fail "isSuccessful with errors"; ok
[ "$(jqb '[.errors[] | [.deviceId, .errorCode]]')" = '[["b1",409001],["bad id",400004],["b4",400004],["",400004]]' ] \
	|| fail "mixed errors: $(cat "$tmp/body")"; ok
[ "$(jq -r '.errors[0].errorStatus | length > 0' "$tmp/body")" = true ] || fail "errorStatus text"; ok
call GET /devices/b3 ""; expect_status 200 "b3 created despite the others"
call GET /devices/b5 ""; expect_status 200 "importMode in any case"
call GET /devices/b4 ""; expect_status 404 "unknown mode creates nothing"

# --- update -----------------------------------------------------------------------------------------
call GET /devices/b3 ""; b3etag=$(jq -r .etag "$tmp/body")
call POST /devices "[{\"id\":\"b3\",\"importMode\":\"updateIfMatchETag\",\"eTag\":\"$b3etag\",\"status\":\"disabled\"},{\"id\":\"b2\",\"importMode\":\"updateIfMatchETag\",\"eTag\":\"bm9wZQ==\",\"status\":\"disabled\"},{\"id\":\"ghost\",\"importMode\":\"update\"},{\"id\":\"b5\",\"importMode\":\"updateIfMatchETag\"},{\"id\":\"b1\",\"importMode\":\"update\",\"status\":\"enabled\"}]"
expect_status 200 "bulk update"
[ "$(jqb '[.errors[] | [.deviceId, .errorCode]]')" = '[["b2",412001],["ghost",404001],["b5",400004]]' ] \
	|| fail "update errors: $(cat "$tmp/body")"; ok
call GET /devices/b3 ""; [ "$(jq -r .status "$tmp/body")" = disabled ] || fail "b3 updated"; ok
call GET /devices/b2 ""; [ "$(jq -r .status "$tmp/body")" = enabled ] || fail "b2 untouched"; ok
call GET /devices/b1 ""; [ "$(jq -r .status "$tmp/body")" = enabled ] || fail "b1 updated"; ok

# --- twins --------------------------------------------------------------------------------------------
call GET /twins/b1 ""; twetag=$(jq -r .etag "$tmp/body")
call POST /devices "[{\"id\":\"b1\",\"importMode\":\"updateTwinIfMatchETag\",\"twinETag\":\"$twetag\",\"tags\":{\"site\":\"b\"}},{\"id\":\"b2\",\"importMode\":\"updateTwinIfMatchETag\",\"twinETag\":\"AAAA\",\"tags\":{\"site\":\"x\"}},{\"id\":\"b3\",\"importMode\":\"updateTwin\",\"properties\":{\"desired\":{\"on\":true}}},{\"id\":\"b5\",\"importMode\":\"updateTwin\"}]"
expect_status 200 "bulk twin update"
[ "$(jqb '[.errors[] | [.deviceId, .errorCode]]')" = '[["b2",412001],["b5",400004]]' ] \
	|| fail "twin errors: $(cat "$tmp/body")"; ok
call GET /twins/b1 ""; [ "$(jqb '[.tags.site, .properties.desired.rate]')" = '["b",5]' ] || fail "b1 twin patched: $(cat "$tmp/body")"; ok
call GET /twins/b3 ""; [ "$(jqb .properties.desired.on)" = true ] || fail "b3 desired"; ok
call GET /twins/b2 ""; [ "$(jqb .tags.site)" = null ] || fail "b2 twin untouched"; ok

# --- delete -------------------------------------------------------------------------------------------
call GET /devices/b2 ""; b2etag=$(jq -r .etag "$tmp/body")
call POST /devices "[{\"id\":\"b1\",\"importMode\":\"delete\"},{\"id\":\"b2\",\"importMode\":\"deleteIfMatchETag\",\"eTag\":\"$b2etag\"},{\"id\":\"b3\",\"importMode\":\"deleteIfMatchETag\",\"eTag\":\"bm9wZQ==\"},{\"id\":\"ghost\",\"importMode\":\"delete\"}]"
expect_status 200 "bulk delete"
[ "$(jqb '[.errors[] | [.deviceId, .errorCode]]')" = '[["b3",412001],["ghost",404001]]' ] \
	|| fail "delete errors: $(cat "$tmp/body")"; ok
call GET /devices/b1 ""; expect_status 404 "b1 deleted"
call GET /devices/b2 ""; expect_status 404 "b2 deleted with its etag"
call GET /devices/b3 ""; expect_status 200 "b3 kept on a stale etag"

echo "test_rest_bulk: $checks checks passed"
