#!/usr/bin/env bash
# run_mqtt_bench.sh (bench): the device-endpoint benchmark of issue 3. It runs the same loads
# with `fleet load` (agents/fleet) against simhub (persisting every message) and against a Debian mosquitto (no
# auth, no persistence) in one run, then holds idle TLS connections to compare memory, then
# times simhub's start-up. It prints figures; it builds nothing and asserts nothing.
#
# usage: bench/run_mqtt_bench.sh [BUILD_DIR] [--idle N] [--devices N] [--window W]
#                                [--seconds S] [--repeat R] [--startup-runs N]
set -euo pipefail

BUILD=./build
IDLE=10000
DEVICES=100
WINDOW=16
SECS=5
REPEAT=3
STARTUP_RUNS=10
SIZE=200
IDLE_PER_PROCESS=5000      # fleet load needs 3 descriptors per connection

while [ $# -gt 0 ]; do
	case "$1" in
	--idle) IDLE=$2; shift 2 ;;
	--devices) DEVICES=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--repeat) REPEAT=$2; shift 2 ;;
	--startup-runs) STARTUP_RUNS=$2; shift 2 ;;
	-h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run_mqtt_bench: unknown option $1" >&2; exit 64 ;;
	*) BUILD=$1; shift ;;
	esac
done

SRC=$(cd "$(dirname "$0")/.." && pwd)
SIMHUB=$BUILD/simhub/simhub
LOAD=$BUILD/agents/fleet/fleet
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
for f in "$SIMHUB" "$LOAD"; do
	[ -x "$f" ] || { echo "run_mqtt_bench: $f not found: build first (cmake --build $BUILD --target simhub fleet)" >&2; exit 66; }
done
[ -x "$MOSQUITTO" ] || { echo "run_mqtt_bench: mosquitto not found: apt-get install mosquitto" >&2; exit 66; }
SIMHUB=$(cd "$(dirname "$SIMHUB")" && pwd)/simhub
LOAD=$(cd "$(dirname "$LOAD")" && pwd)/fleet

# Every process we start is remembered and stopped on any exit.
TMP=$(mktemp -d /tmp/mqtt-bench.XXXXXX)
chmod 755 "$TMP"           # mosquitto may drop root for its own user and must read its files
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null || true; fi
	done
	sleep 0.3
	for p in "${PIDS[@]:-}"; do
		if [ -n "$p" ]; then
			kill -KILL "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log() { printf '%s\n' "$*" >&2; }
die() { log "run_mqtt_bench: $*"; exit 1; }

stop_pid() {   # stop_pid PID: SIGTERM, wait, forget
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	local keep=() q
	for q in "${PIDS[@]:-}"; do [ "$q" != "$p" ] && [ -n "$q" ] && keep+=("$q"); done
	PIDS=("${keep[@]:-}")
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

free_port() {
	local p used
	used=$(ss -Htan | awk '{print $4}' | sed 's/.*://' | sort -u)
	while :; do
		p=$((20000 + RANDOM % 12000))
		grep -qx "$p" <<<"$used" || { echo "$p"; return; }
	done
}

wait_port() {   # wait_port PORT: until something accepts on 127.0.0.1:PORT
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

json_field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" "$1"; }

# --- fixture: N devices bench-0000..., all with the same fixed key -------------------------
KEY="c2ltaHViLWJlbmNoLWZpeGVkLWRldmljZS1rZXktMzI="   # fixed benchmark key, not a secret
NDEV=$(( DEVICES > IDLE ? DEVICES : IDLE ))
awk -v n="$NDEV" -v key="$KEY" 'BEGIN {
	printf "{\"version\":1,\"description\":\"mqtt bench devices\",\"devices\":[";
	for (i = 0; i < n; i++)
		printf "%s{\"id\":\"bench-%04d\",\"authentication\":{\"type\":\"sas\",\"primaryKey\":\"%s\",\"secondaryKey\":\"%s\"}}",
			(i ? "," : ""), i, key, key;
	print "]}" }' >"$TMP/fixture.json"

# --- servers ------------------------------------------------------------------------------
SIMHUB_PID=
MOSQ_PID=
start_simhub() {   # start_simhub [fixtures...]: simhub with a file database in $TMP
	rm -f "$TMP/ready.json"
	"$SIMHUB" serve --db "$TMP/simhub.db" "$@" --mqtt-port 0 --mqtts-port 0 --https-port 0 \
		--ready-file "$TMP/ready.json" >>"$TMP/simhub.log" 2>&1 &
	SIMHUB_PID=$!
	PIDS+=("$SIMHUB_PID")
	local i
	for i in $(seq 1200); do
		[ -s "$TMP/ready.json" ] && break
		kill -0 "$SIMHUB_PID" 2>/dev/null || { cat "$TMP/simhub.log" >&2; die "simhub exited"; }
		sleep 0.05
	done
	[ -s "$TMP/ready.json" ] || die "simhub wrote no ready file in 60 s"
	SH_TCP=$(json_field "$TMP/ready.json" mqtt)
	SH_TLS=$(json_field "$TMP/ready.json" mqtts)
	HUB_HOST=$(json_field "$TMP/ready.json" host)
	CA=$(json_field "$TMP/ready.json" ca)
}

start_mosquitto() {
	"$MOSQUITTO" -c "$TMP/mosquitto.conf" >>"$TMP/mosquitto.log" 2>&1 &
	MOSQ_PID=$!
	PIDS+=("$MOSQ_PID")
	if ! wait_port "$MQ_TCP" || ! wait_port "$MQ_TLS"; then
		cat "$TMP/mosquitto.log" >&2
		die "mosquitto did not start"
	fi
}

log "run_mqtt_bench: loading $NDEV devices into simhub..."
start_simhub --fixtures "$TMP/fixture.json"
# mosquitto gets simhub's own server certificate (its SANs include 127.0.0.1).
cp "$(dirname "$CA")/server.pem" "$(dirname "$CA")/server.key" "$TMP/"
chmod 644 "$TMP/server.pem" "$TMP/server.key"
MQ_TCP=$(free_port)
MQ_TLS=$(free_port)
while [ "$MQ_TLS" = "$MQ_TCP" ]; do MQ_TLS=$(free_port); done
cat >"$TMP/mosquitto.conf" <<EOF
# mosquitto as the baseline: no auth, no persistence, no logging beyond errors.
per_listener_settings false
allow_anonymous true
persistence false
max_inflight_messages 0
max_queued_messages 0
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
listener $MQ_TCP 127.0.0.1
listener $MQ_TLS 127.0.0.1
certfile $TMP/server.pem
keyfile $TMP/server.key
EOF
start_mosquitto

CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "mqtt bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($CPU), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "servers: $("$SIMHUB" --version 2>/dev/null | head -1 || true) ($(basename "$BUILD")), $("$MOSQUITTO" -h 2>/dev/null | head -1 | sed 's/ is an MQTT.*//')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- 1. throughput and PUBACK latency ------------------------------------------------------
LOADARGS=(--devices "$DEVICES" --window "$WINDOW" --seconds "$SECS" --warmup 1 --size "$SIZE"
	  --topic-style iothub)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run_load() {   # run_load NAME TRANSPORT: one `fleet load` run; appends "NAME TRANSPORT RESULT..."
	local name=$1 tr=$2 args=() out pid c0 c1
	if [ "$name" = simhub ]; then pid=$SIMHUB_PID; else pid=$MOSQ_PID; fi
	c0=$(cpu_ticks "$pid")
	if [ "$name" = simhub ]; then
		args=(--key "$KEY" --hub-host "$HUB_HOST")
		if [ "$tr" = tls ]; then args+=(--port "$SH_TLS" --tls --cafile "$CA"); else args+=(--port "$SH_TCP"); fi
	else
		args=(--no-auth)
		if [ "$tr" = tls ]; then args+=(--port "$MQ_TLS" --tls --cafile "$CA"); else args+=(--port "$MQ_TCP"); fi
	fi
	out=$("$LOAD" load "${args[@]}" "${LOADARGS[@]}" 2>>"$TMP/load.err" | grep '^RESULT' || true)
	[ -n "$out" ] || { cat "$TMP/load.err" >&2; die "fleet load gave no result ($name $tr)"; }
	c1=$(cpu_ticks "$pid")
	# server CPU time (user + system) per acknowledged message, over the whole run
	out="$out cpu_us=$(awk -v t=$(( c1 - c0 )) -v hz="$(getconf CLK_TCK)" -v n="$(field acked_total <<<" $out")" \
		'BEGIN {printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0)}')"
	echo "$name $tr $out" >>"$TMP/results"
	case "$out" in *" errors=0 "*) ;; *) log "run_mqtt_bench: *** $name $tr: $out"; tail -5 "$TMP/load.err" >&2 ;; esac
	: >"$TMP/load.err"
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
stat_of() {   # stat_of NAME TRANSPORT FIELD: median over the runs
	grep "^$1 $2 " "$TMP/results" | field "$3" | median
}

log "run_mqtt_bench: load runs ($REPEAT x 2 servers x 2 transports, $SECS s each)..."
: >"$TMP/results"
for tr in tcp tls; do
	for _ in $(seq "$REPEAT"); do
		run_load simhub "$tr"
		run_load mosquitto "$tr"
	done
done
echo "1. Load: $DEVICES devices, QoS 1, $SIZE-byte payload, window $WINDOW per device, ${SECS} s measured"
echo "   after 1 s of warm-up; median of $REPEAT runs, simhub and mosquitto alternating."
printf '   %-9s %-10s %12s %9s %9s %15s %7s\n' transport server "acked msg/s" "p50 ms" "p99 ms" \
	"server CPU/msg" errors
for tr in tcp tls; do
	for s in simhub mosquitto; do
		rate=$(stat_of $s $tr msgs_per_s)
		p50=$(stat_of $s $tr p50_us)
		p99=$(stat_of $s $tr p99_us)
		errs=$(grep "^$s $tr " "$TMP/results" | field errors | awk '{s+=$1} END {print s+0}')
		cpu=$(stat_of $s $tr cpu_us)
		printf '   %-9s %-10s %12.0f %9.1f %9.1f %12.1f us %7d\n' "${tr^^}" $s "$rate" \
			"$(awk -v x="$p50" 'BEGIN {print x/1000}')" "$(awk -v x="$p99" 'BEGIN {print x/1000}')" \
			"$cpu" "$errs"
	done
	awk -v a="$(stat_of simhub $tr msgs_per_s)" -v b="$(stat_of mosquitto $tr msgs_per_s)" -v t="${tr^^}" \
		'BEGIN {printf "   %-9s simhub/mosquitto rate ratio: %.2f (target >= 0.5)\n", t, (b > 0 ? a/b : 0)}'
done
echo "   runs (msgs/s): $(awk '{split($4,x,"="); printf "%s%s/%s %s", sep, $1, $2, x[2]; sep="; "}' "$TMP/results")"
echo

# --- 2. idle TLS connections: resident memory per connection -------------------------------
# Fresh servers, so the loads above leave nothing behind; each server is measured alone.
stop_pid "$SIMHUB_PID"
stop_pid "$MOSQ_PID"
idle_rss() {   # idle_rss NAME PID PORT AUTHARGS...: sets RSS_B, RSS_A (KiB) and UP
	local name=$1 pid=$2 port=$3 before after first=0 n k lp=() up=0 i f
	shift 3
	sleep 1
	before=$(rss_kb "$pid")
	k=0
	while [ "$first" -lt "$IDLE" ]; do
		n=$(( IDLE - first < IDLE_PER_PROCESS ? IDLE - first : IDLE_PER_PROCESS ))
		"$LOAD" load --idle "$n" --first "$first" --port "$port" --tls --cafile "$CA" "$@" \
			>"$TMP/idle.$k.out" 2>"$TMP/idle.$k.err" &
		lp+=($!)
		PIDS+=($!)
		first=$(( first + n ))
		k=$(( k + 1 ))
	done
	for i in $(seq 1800); do   # up to 3 minutes
		up=0
		local done_all=1
		for f in $(seq 0 $(( k - 1 ))); do
			if grep -q '^IDLE up=' "$TMP/idle.$f.out" 2>/dev/null; then
				up=$(( up + $(sed -n 's/^IDLE up=\([0-9]*\).*/\1/p' "$TMP/idle.$f.out") ))
			else
				done_all=0
			fi
		done
		[ "$done_all" = 1 ] && break
		sleep 0.1
	done
	sleep 2   # let the server settle
	after=$(rss_kb "$pid")
	for i in "${lp[@]}"; do stop_pid "$i"; done
	if [ "$up" -lt "$IDLE" ]; then
		log "run_mqtt_bench: *** $name: only $up of $IDLE idle connections came up"
		cat "$TMP"/idle.*.err >&2
	fi
	RSS_B=$before RSS_A=$after UP=$up
}
log "run_mqtt_bench: $IDLE idle TLS connections to simhub..."
start_simhub
idle_rss simhub "$SIMHUB_PID" "$SH_TLS" --key "$KEY" --hub-host "$HUB_HOST" --keepalive 300
SH_B=$RSS_B SH_A=$RSS_A SH_UP=$UP
stop_pid "$SIMHUB_PID"
log "run_mqtt_bench: $IDLE idle TLS connections to mosquitto..."
start_mosquitto
idle_rss mosquitto "$MOSQ_PID" "$MQ_TLS" --no-auth --keepalive 300
MQ_B=$RSS_B MQ_A=$RSS_A MQ_UP=$UP
stop_pid "$MOSQ_PID"
echo "2. Idle: $IDLE TLS connections (simhub: SAS-authenticated devices; mosquitto: anonymous)"
printf '   %-10s %12s %12s %8s %14s\n' server "RSS before" "RSS after" up "bytes/conn"
printf '   %-10s %9d KiB %9d KiB %8d %14.0f\n' simhub "$SH_B" "$SH_A" "$SH_UP" \
	"$(awk -v a="$SH_A" -v b="$SH_B" -v n="$SH_UP" 'BEGIN {print n ? (a-b)*1024/n : 0}')"
printf '   %-10s %9d KiB %9d KiB %8d %14.0f\n' mosquitto "$MQ_B" "$MQ_A" "$MQ_UP" \
	"$(awk -v a="$MQ_A" -v b="$MQ_B" -v n="$MQ_UP" 'BEGIN {print n ? (a-b)*1024/n : 0}')"
awk -v sa="$SH_A" -v sb="$SH_B" -v sn="$SH_UP" -v ma="$MQ_A" -v mb="$MQ_B" -v mn="$MQ_UP" 'BEGIN {
	s = sn ? (sa-sb)/sn : 0; m = mn ? (ma-mb)/mn : 0;
	printf "   simhub/mosquitto per-connection ratio: %.2f (target <= 1.5)\n", (m > 0 ? s/m : 0) }'
echo

# --- 3. start-up: exec to ready file, --db :memory: ----------------------------------------
export XDG_STATE_HOME="$TMP/state"   # :memory: keeps its CA there; never touch ~/.local
mkdir -p "$TMP/st"
START=("$SIMHUB" serve --db :memory: --mqtt-port 0 --mqtts-port 0 --https-port 0
       --ready-file "$TMP/st/ready.json")
log "run_mqtt_bench: start-up runs..."
cold=$("$LOAD" load --startup 1 --ready-file "$TMP/st/ready.json" -- "${START[@]}" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
warm=$("$LOAD" load --startup "$STARTUP_RUNS" --ready-file "$TMP/st/ready.json" -- "${START[@]}" | grep '^STARTUP')
demo=$("$LOAD" load --startup "$STARTUP_RUNS" --ready-file "$TMP/st/ready.json" -- "${START[@]}" \
	--fixtures "$SRC/fixtures/demo" | grep '^STARTUP')
echo "3. Start-up: exec of 'simhub serve --db :memory:' to its ready file (inotify, monotonic clock)"
echo "   first start (creates the local CA): ${cold:-?} ms"
echo "   no fixtures:   ${warm#STARTUP }"
echo "   demo fixtures: ${demo#STARTUP }"
echo "   target: median under 100 ms"
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
