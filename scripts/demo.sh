#!/usr/bin/env bash
# The otelaudit demo (`make demo`, which builds everything first).
#
#   scripts/demo.sh          run the demo; stop what it started on exit
#   KEEP=1 scripts/demo.sh   leave Jaeger and otelcol-audit running
#   scripts/demo.sh stop     stop what a KEEP=1 run left running
#
# It generates a checkpoint signing key, an HMAC key and a bearer token,
# starts Jaeger and otelcol-audit on 127.0.0.1, runs the example agents
# through the collector, waits until the audit store holds every tool call,
# then prints a conversation's timeline from the store and from Jaeger, the
# access report for the patient of the access burst, the anomalies, the
# reconciliation of Jaeger with the store, and the store's verification.
# State (keys, store, queue, logs, pids) lives in $DEMO_DIR, by default
# _build/demo/, and is replaced on every run.
#
# Ports (127.0.0.1 only) can be moved with the variables of
# examples/collector/config.yaml and examples/jaeger/config.yaml: a taken
# port stops the demo with the name of the variable to set.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/_build/bin}
COLLECTOR=${COLLECTOR:-$ROOT/_build/otelcol-audit/otelcol-audit}
JAEGER=${JAEGER:-$BIN/jaeger}
CLI=${CLI:-$BIN/otelaudit}
DEMO_DIR=${DEMO_DIR:-$ROOT/_build/demo}
KEEP=${KEEP:-}
WAIT=${DEMO_WAIT_SECONDS:-90}

export OTELAUDIT_OTLP_GRPC_PORT=${OTELAUDIT_OTLP_GRPC_PORT:-4317}
export OTELAUDIT_OTLP_HTTP_PORT=${OTELAUDIT_OTLP_HTTP_PORT:-4318}
export OTELAUDIT_HEALTH_PORT=${OTELAUDIT_HEALTH_PORT:-13133}
export JAEGER_QUERY_HTTP_PORT=${JAEGER_QUERY_HTTP_PORT:-16686}
export JAEGER_QUERY_GRPC_PORT=${JAEGER_QUERY_GRPC_PORT:-16685}
export JAEGER_OTLP_GRPC_PORT=${JAEGER_OTLP_GRPC_PORT:-14317}
export JAEGER_OTLP_HTTP_PORT=${JAEGER_OTLP_HTTP_PORT:-14318}
export JAEGER_OTLP_ENDPOINT=127.0.0.1:$JAEGER_OTLP_GRPC_PORT
JAEGER_URL=http://127.0.0.1:$JAEGER_QUERY_HTTP_PORT

# The processes this demo starts, by name: their pids are in
# $DEMO_DIR/NAME.pid, their output in $DEMO_DIR/NAME.log.
SERVICES=(collector jaeger)

if [ -t 1 ]; then bold=$'\e[1m' dim=$'\e[2m' red=$'\e[31m' off=$'\e[0m'; else bold='' dim='' red='' off=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
die() {
  printf '%sdemo: %s%s\n' "$red" "$*" "$off" >&2
  exit 1
}

# pid_of NAME prints the pid of the demo's NAME process if it is running.
pid_of() {
  local f=$DEMO_DIR/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(<"$f")
  # The pid file names the binary too, so that a reused pid is not
  # mistaken for ours.
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(<"$DEMO_DIR/$1.cmd")" || return 1
  echo "$pid"
}

# stop_all stops the demo's processes: the collector first, so that it
# drains its queue and writes its final checkpoints, then Jaeger.
stop_all() {
  local name pid i
  for name in "${SERVICES[@]}"; do
    if pid=$(pid_of "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        note "$name (pid $pid) did not stop within 10 s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$DEMO_DIR/$name.pid" "$DEMO_DIR/$name.cmd"
  done
}

if [ "${1:-}" = stop ]; then
  running=0
  for name in "${SERVICES[@]}"; do pid_of "$name" >/dev/null && running=1; done
  stop_all
  if [ $running = 1 ]; then echo "demo: stopped; its state is in $DEMO_DIR"; else echo "demo: nothing running"; fi
  exit 0
fi

for name in "${SERVICES[@]}"; do
  if pid=$(pid_of "$name"); then
    die "a demo started with KEEP=1 is still running ($name, pid $pid): run 'make demo-stop' first"
  fi
done
for bin in "$COLLECTOR" "$JAEGER" "$CLI"; do
  [ -x "$bin" ] || die "$bin is missing: run 'make demo', which builds it"
done

# port_free PORT VARIABLE WHAT fails when something accepts connections on
# 127.0.0.1:PORT.
port_free() {
  if (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "port $1 ($3) is taken on 127.0.0.1: stop what listens there, or run with $2=<free port>"
  fi
}
port_free "$OTELAUDIT_OTLP_GRPC_PORT" OTELAUDIT_OTLP_GRPC_PORT "otelcol-audit OTLP/gRPC"
port_free "$OTELAUDIT_OTLP_HTTP_PORT" OTELAUDIT_OTLP_HTTP_PORT "otelcol-audit OTLP/HTTP"
port_free "$OTELAUDIT_HEALTH_PORT" OTELAUDIT_HEALTH_PORT "otelcol-audit health check"
port_free "$JAEGER_QUERY_HTTP_PORT" JAEGER_QUERY_HTTP_PORT "Jaeger UI and query API"
port_free "$JAEGER_QUERY_GRPC_PORT" JAEGER_QUERY_GRPC_PORT "Jaeger query gRPC"
port_free "$JAEGER_OTLP_GRPC_PORT" JAEGER_OTLP_GRPC_PORT "Jaeger OTLP/gRPC"
port_free "$JAEGER_OTLP_HTTP_PORT" JAEGER_OTLP_HTTP_PORT "Jaeger OTLP/HTTP"

# http_get PORT PATH prints the body of GET http://127.0.0.1:PORT/PATH and
# succeeds when the status is 200 (bash only: no curl needed).
http_get() {
  local status body
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$2" "$1" >&3
  body=$(timeout 5 cat <&3) || true
  exec 3<&-
  status=${body%%$'\r'*}
  [[ $status == HTTP/1.?" 200"* ]] || return 1
  printf '%s\n' "${body#*$'\r\n\r\n'}"
}

# start NAME BINARY ARGS... starts a service in the background.
start() {
  local name=$1 pid i
  shift
  "$@" >"$DEMO_DIR/$name.log" 2>&1 &
  pid=$!
  echo "$pid" >"$DEMO_DIR/$name.pid"
  printf '%s' "$1" >"$DEMO_DIR/$name.cmd"
  # Until the child has exec'd the binary, /proc shows the forked shell, and
  # pid_of would take a starting service for a dead one (seen on a loaded
  # machine): wait, for at most 5 s, until it runs the binary or is gone.
  for i in $(seq 100); do
    [ -r "/proc/$pid/cmdline" ] || break
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$1" && break
    sleep 0.05
  done
}

# wait_until WHAT SERVICE COMMAND... polls COMMAND until it succeeds, for at
# most $WAIT seconds; it fails early, with the service's log, if the
# service has exited.
wait_until() {
  local what=$1 svc=$2 deadline=$((SECONDS + WAIT))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ -n "$svc" ] && ! pid_of "$svc" >/dev/null; then
      tail -n 30 "$DEMO_DIR/$svc.log" >&2 || true
      die "$svc exited while waiting for $what (log above, full log in $DEMO_DIR/$svc.log)"
    fi
    if ((SECONDS >= deadline)); then
      [ -z "$svc" ] || tail -n 30 "$DEMO_DIR/$svc.log" >&2 || true
      die "timed out after ${WAIT}s waiting for $what"
    fi
    sleep 0.3
  done
}

cleanup() {
  local rc=$?
  if [ -n "$KEEP" ] && [ $rc = 0 ]; then return; fi
  stop_all
  if [ $rc != 0 ]; then note "demo: failed; logs and state are in $DEMO_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Keys, token and state in ${DEMO_DIR#"$ROOT"/}"
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
chmod 700 "$DEMO_DIR"
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
export OTELAUDIT_DIR=$DEMO_DIR/store
export OTELAUDIT_QUEUE_DIR=$DEMO_DIR/queue
export OTELAUDIT_SIGNER=$DEMO_DIR/signer.key
export OTELAUDIT_HMAC_KEY
OTELAUDIT_HMAC_KEY=$(random_hex 32)
export OTELAUDIT_TOKEN
OTELAUDIT_TOKEN=demo-$(random_hex 24)
export OTELAUDIT_CHECKPOINT_INTERVAL=${OTELAUDIT_CHECKPOINT_INTERVAL:-1s}
VERIFIER=$DEMO_DIR/verifier.key
"$CLI" keygen --name demo.otelaudit.example --signer "$OTELAUDIT_SIGNER" --verifier "$VERIFIER"
(umask 077 && printf '%s\n' "$OTELAUDIT_TOKEN" >"$DEMO_DIR/token" && printf '%s\n' "$OTELAUDIT_HMAC_KEY" >"$DEMO_DIR/hmac.key")
note "bearer token in token, HMAC key in hmac.key (both 0600); client name of the token:" \
  "bearer:sha256:$(printf %s "$OTELAUDIT_TOKEN" | sha256sum | cut -c1-24)"

say "Starting Jaeger and otelcol-audit on 127.0.0.1"
start jaeger "$JAEGER" --config "$ROOT/examples/jaeger/config.yaml"
start collector "$COLLECTOR" --config "$ROOT/examples/collector/config.yaml"
wait_until "Jaeger's query API on :$JAEGER_QUERY_HTTP_PORT" jaeger http_get "$JAEGER_QUERY_HTTP_PORT" /api/services
wait_until "otelcol-audit's health check on :$OTELAUDIT_HEALTH_PORT" collector http_get "$OTELAUDIT_HEALTH_PORT" /
note "jaeger pid $(<"$DEMO_DIR/jaeger.pid"), otelcol-audit pid $(<"$DEMO_DIR/collector.pid"); logs in ${DEMO_DIR#"$ROOT"/}/*.log"

# run_agent NAME [PROTOCOL [SPANS]] runs the example agent NAME against the
# collector over OTLP/HTTP (the default) or gRPC. Its last line says
# "NAME: N tool calls ...": the demo then waits for N times SPANS records
# (SPANS tool spans per call, default 1).
expected=0
run_agent() {
  local name=$1 protocol=${2:-http/protobuf} spans=${3:-1} endpoint out n
  case $protocol in
  grpc) endpoint=http://127.0.0.1:$OTELAUDIT_OTLP_GRPC_PORT ;;
  *) endpoint=http://127.0.0.1:$OTELAUDIT_OTLP_HTTP_PORT ;;
  esac
  say "Agent $name (OTLP $protocol, bearer token)"
  # Captured, then shown: tee /dev/stderr would reopen (and truncate) a log
  # file the demo's output is redirected to.
  local status=0
  out=$(OTEL_EXPORTER_OTLP_ENDPOINT=$endpoint OTEL_EXPORTER_OTLP_PROTOCOL=$protocol \
    OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$OTELAUDIT_TOKEN" \
    "$BIN/$name" 2>&1) || status=$?
  printf '%s\n' "$out" >&2
  [ "$status" -eq 0 ] || die "$name failed"
  n=$(sed -n "s/^$name: \([0-9][0-9]*\) tool calls.*/\1/p" <<<"$out")
  [ -n "$n" ] || die "$name did not say how many tool calls it made"
  expected=$((expected + n * spans))
}

# The agents. Adding one is one line.
run_agent supportagent http/protobuf
run_agent medicalrecords grpc
# Over MCP, each call is audited by the agent (client span) and by the
# server (server span): two records per call.
run_agent mcpagent http/protobuf 2

say "Waiting for the audit store to hold all $expected records (tool spans) under a signed checkpoint"
# store_complete succeeds when the store verifies, holds the expected
# records, and each chain's latest signed checkpoint covers all its records
# ("records F..L, …, latest checkpoint L+1").
store_complete() {
  local out line n
  out=$("$CLI" verify --dir "$OTELAUDIT_DIR" --verifier "$VERIFIER") || return 1
  while IFS= read -r line; do
    if [[ $line =~ ^chain\ .*:\ records\ [0-9]+\.\.([0-9]+),.*latest\ checkpoint\ ([0-9]+), ]]; then
      ((BASH_REMATCH[2] == BASH_REMATCH[1] + 1)) || return 1
    fi
  done <<<"$out"
  n=$(sed -n 's/^OK: \([0-9][0-9]*\) records.*/\1/p' <<<"$out")
  [ -n "$n" ] && [ "$n" -ge "$expected" ]
}
wait_until "$expected records in the audit store" collector store_complete
jaeger_complete() {
  "$CLI" reconcile --jaeger "$JAEGER_URL" --dir "$OTELAUDIT_DIR" --verifier "$VERIFIER"
}
wait_until "the tool spans in Jaeger" jaeger jaeger_complete
note "done"

cli() {
  printf '%s$ otelaudit %s%s\n' "$dim" "$*" "$off"
  "$CLI" "$@"
}
store=(--dir "$OTELAUDIT_DIR" --verifier "$VERIFIER")

say "Timeline of conversation sup-1002 from the audit store (the card number and api_key masked by the collector)"
cli timeline --conversation sup-1002 "${store[@]}"
say "The same conversation from Jaeger"
cli timeline --conversation sup-1002 --jaeger "$JAEGER_URL"
say "Timeline of conversation med-2001 (patient names are keyed pseudonyms)"
cli timeline --conversation med-2001 "${store[@]}"
say "Timeline of MCP conversation mcp-3001 (each call is audited by the agent and by the server, listed once)"
cli timeline --conversation mcp-3001 "${store[@]}"
say "Access report for patient P-1007"
cli report --subject patient/P-1007 "${store[@]}"
say "Anomalies"
cli anomalies "${store[@]}"
say "Reconciliation: tool spans in Jaeger vs audit records"
cli reconcile --jaeger "$JAEGER_URL" "${store[@]}"
say "Verification of the audit store (every record under a signed checkpoint)"
cli verify --require-signed "${store[@]}"

say "Jaeger: $JAEGER_URL  (services support-agent, records-assistant, mcp-agent, mcp-medical-records)"
if http_get "$JAEGER_QUERY_HTTP_PORT" / | grep -q "not the Jaeger UI"; then
  note "This Jaeger, built from its Go module, has no UI bundle and shows a placeholder page;"
  note "its query API answers, e.g. $JAEGER_URL/api/v3/services. To get the UI, unpack a"
  note "jaeger-ui release (assets.tar.gz) and run the demo with JAEGER_UI_ASSETS=<that directory>."
fi
if [ -n "$KEEP" ]; then
  cat >"$DEMO_DIR/env.sh" <<EOF
# Sourced by a shell to send more spans to the running demo collector.
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTELAUDIT_OTLP_HTTP_PORT
export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$OTELAUDIT_TOKEN"
EOF
  chmod 600 "$DEMO_DIR/env.sh"
  echo "Jaeger and otelcol-audit keep running (KEEP=1). To send more spans:"
  echo "  source ${DEMO_DIR#"$ROOT"/}/env.sh && go run ./examples/supportagent"
  echo "Query the store:  $CLI stats --dir $OTELAUDIT_DIR --verifier $VERIFIER"
  echo "Stop them with:   make demo-stop"
else
  echo "Stopping Jaeger and otelcol-audit (run 'make demo KEEP=1' to keep them running)."
fi
