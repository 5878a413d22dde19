# shellcheck shell=bash
# test/e2e/lib-metrics.sh: the metrics side of the end-to-end harness, sourced
# by lib.sh (it runs nothing when sourced).
#
# A real Prometheus (Debian's package) runs in the cluster namespace, as
# prometheus-operator would run it for the synthesized PodMonitor: one scrape
# job for the gateway pod with the PodMonitor's port, path and interval, and
# the labels the operator gives a pod target (namespace, pod, container,
# endpoint, job); the synthesized PrometheusRule is its rule file. The tests
# ask it PromQL through its HTTP API.
#
#   e2e_metrics_config       prometheus.yml, rules and the tests' scrape.env from the manifest
#   e2e_prometheus_up        start Prometheus (once) and wait until it is ready
#   e2e_promql EXPR          an instant query: "{labels} value" per sample
#   e2e_promql_value EXPR    the value of the first sample, or nothing
#   e2e_prom_wait S DESC EXPR  until EXPR returns a sample (write conditions as filters: "x == 50")
#   e2e_metrics_fetch NS URL FILE  GET from a namespace: prints "HTTP <status> <content-type>"

E2E_PROM_ADDR=127.0.0.1:9090 # inside the cluster namespace
E2E_PROM_TOOL="$E2E_DIR/tools/prometheus.js"
# The sessions log rotates at this size here (1 MiB in a pod), so that the suite rotates it often.
E2E_SESSIONS_LOG_ROTATE_BYTES=${E2E_SESSIONS_LOG_ROTATE_BYTES:-4096}

# e2e_metrics_adapt: called by e2e_adapt; with metrics on, the adaptation above.
e2e_metrics_adapt() {
  grep -q '^metrics_port=[0-9]' "$POD_CONFIG_DIR/start.env" || return 0
  E2E_NGINX_ENV+=("SESSIONS_LOG_ROTATE_BYTES=$E2E_SESSIONS_LOG_ROTATE_BYTES")
  [ -n "$E2E_POD" ] || e2e_adaptation "sessions log: start-nginx.sh rotates it at $E2E_SESSIONS_LOG_ROTATE_BYTES bytes (env SESSIONS_LOG_ROTATE_BYTES) instead of 1 MiB, so that the suite's sessions rotate it many times"
}

# e2e_metrics_config: from the manifest, $E2E_RUN/prometheus/{prometheus.yml,rules.yml,
# dashboard-rules.yml,scrape.env}; loads scrape.env (METRICS_TARGET, METRICS_PATH, ...).
e2e_metrics_config() {
  local dir="$E2E_RUN/prometheus"
  if [ ! -f "$dir/scrape.env" ]; then
    node "$E2E_PROM_TOOL" config "$E2E_MANIFEST" "$dir" "$E2E_GW_POD_IP" >"$E2E_STATE/prometheus-config.log" 2>&1 \
      || { cat "$E2E_STATE/prometheus-config.log" >&2; return 1; }
  fi
  # shellcheck disable=SC1091 # written by the harness at run time (tools/prometheus.js)
  source "$dir/scrape.env"
}

# e2e_prometheus_up: Prometheus in the cluster namespace (as nobody), once.
e2e_prometheus_up() {
  local dir="$E2E_RUN/prometheus"
  e2e_metrics_config || return 1
  if [ -z "$(e2e_pid prometheus)" ]; then
    mkdir -p "$dir/data" && chown -R nobody:nogroup "$dir" || return 1
    e2e_spawn prometheus "$NS_CLUSTER" setpriv --reuid=nobody --regid=nogroup --clear-groups \
      prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" --storage.tsdb.retention.time=1h \
      --web.listen-address="$E2E_PROM_ADDR" --log.level=warn
  fi
  e2e_wait_until 30 "Prometheus to be ready" e2e_prom ready || { tail -n 20 "$E2E_STATE/prometheus.log" >&2; return 1; }
}

e2e_prom() { ip netns exec "$NS_CLUSTER" node "$E2E_PROM_TOOL" "$@" --prometheus "http://$E2E_PROM_ADDR"; }
e2e_promql() { e2e_prom query "$1"; }
e2e_promql_value() { e2e_prom query "$1" | head -n 1 | awk '{ print $NF }'; }

# e2e_prom_wait SECONDS DESCRIPTION EXPR: polls (every 0.5 s) until EXPR has a
# sample; prints it. Fails with the last answer after SECONDS.
e2e_prom_wait() {
  local secs=$1 desc=$2 expr=$3 out deadline
  deadline=$(($(e2e_now_ms) + secs * 1000))
  until out=$(e2e_promql "$expr" 2>&1) && [ -n "$out" ]; do
    if [ "$(e2e_now_ms)" -gt "$deadline" ]; then
      echo "timed out after ${secs} s waiting for $desc: $expr returned ${out:-nothing}"
      return 1
    fi
    sleep 0.5
  done
  echo "$out"
}

# e2e_metrics_fetch NS URL FILE: a GET from inside namespace NS; the body goes to FILE.
e2e_metrics_fetch() {
  ip netns exec "$1" node "$E2E_PROM_TOOL" fetch "$2" --out "$3"
}
