#!/usr/bin/env node
/*
 * prometheus: the end-to-end suite's Prometheus side (test/e2e/lib-metrics.sh).
 * Plain Node.js plus the repository's `yaml`.
 *
 *   config MANIFEST DIR POD_IP   from the synthesized PodMonitor and PrometheusRule, what
 *                                prometheus-operator would give Prometheus: DIR/prometheus.yml
 *                                (one scrape job for the gateway pod at POD_IP), DIR/rules.yml
 *                                (the rule's spec), DIR/dashboard-rules.yml (every dashboard
 *                                expression as a recording rule, for promtool) and
 *                                DIR/scrape.env (what the tests need, as bash assignments)
 *   query EXPR --prometheus URL  an instant query: one line per sample, "{labels} value"; exit 1
 *                                on an error (a query that does not parse, Prometheus down)
 *   ready --prometheus URL       exit 0 when Prometheus answers /-/ready
 *   rules --prometheus URL       the loaded rule groups: one line per rule, "health name state"
 *   fetch URL [--out FILE]       a GET: prints "HTTP <status> <content-type>", the body to FILE
 */
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const YAML = require('yaml');

function fail(msg) {
  process.stderr.write(`prometheus.js: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const pos = [];
  const opt = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) opt[argv[i].slice(2)] = argv[++i];
    else pos.push(argv[i]);
  }
  return { pos, opt };
}

function get(url, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf-8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The manifest's objects. */
function objects(manifest) {
  return YAML.parseAllDocuments(fs.readFileSync(manifest, 'utf8')).map((d) => d.toJS()).filter(Boolean);
}

function one(docs, kind, what, pred = () => true) {
  const found = docs.filter((o) => o.kind === kind && pred(o));
  if (found.length !== 1) fail(`expected one ${what}, found ${found.length}`);
  return found[0];
}

/** What prometheus-operator makes of the PodMonitor, for the gateway pod at podIp. */
function config(manifest, dir, podIp) {
  const docs = objects(manifest);
  const pm = one(docs, 'PodMonitor', 'PodMonitor');
  const dep = one(docs, 'Deployment', 'wireguard-gateway Deployment', (o) => o.metadata?.labels?.['app.kubernetes.io/name'] === 'wireguard-gateway');
  const ns = dep.metadata.namespace;
  const podLabels = dep.spec.template.metadata.labels;
  // The operator's selection: the PodMonitor's namespaces and labels must pick the pod.
  const names = pm.spec.namespaceSelector?.matchNames ?? [pm.metadata.namespace];
  if (!pm.spec.namespaceSelector?.any && !names.includes(ns)) fail(`the PodMonitor's namespaces ${names} do not include the gateway's ${ns}`);
  for (const [k, v] of Object.entries(pm.spec.selector?.matchLabels ?? {})) {
    if (podLabels[k] !== v) fail(`the PodMonitor selects ${k}=${v}, the gateway pod has ${k}=${podLabels[k]}`);
  }
  if ((pm.spec.selector?.matchExpressions ?? []).length > 0) fail('matchExpressions are not emulated');
  if (pm.spec.podMetricsEndpoints.length !== 1) fail(`expected one podMetricsEndpoint, found ${pm.spec.podMetricsEndpoints.length}`);
  const ep = pm.spec.podMetricsEndpoints[0];
  const ports = dep.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => ({ container: c.name, ...p })));
  const port = ports.find((p) => p.name === ep.port);
  if (!port || (port.protocol ?? 'TCP') !== 'TCP') fail(`no TCP container port named ${ep.port}: ${JSON.stringify(ports)}`);
  const job = `${pm.metadata.namespace}/${pm.metadata.name}`;
  // A pod of the Deployment: <name>-<pod-template-hash>-<suffix>, as the kubelet names it.
  const pod = `${dep.metadata.name}-7d9f8c6b5d-e2e00`;
  const interval = ep.interval ?? '30s';
  const scrape = {
    job_name: `podMonitor/${job}/0`,
    scrape_interval: interval,
    metrics_path: ep.path ?? '/metrics',
    scheme: ep.scheme ?? 'http',
    static_configs: [{ targets: [`${podIp}:${port.containerPort}`] }],
    // The target labels the operator's relabelings give a pod.
    relabel_configs: [
      ['namespace', ns], ['pod', pod], ['container', port.container], ['endpoint', ep.port], ['job', job],
    ].map(([label, value]) => ({ target_label: label, replacement: value, action: 'replace' })),
  };
  fs.mkdirSync(dir, { recursive: true });
  const rule = docs.find((o) => o.kind === 'PrometheusRule');
  const ruleFiles = [];
  if (rule) {
    fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify(rule.spec));
    ruleFiles.push(path.join(dir, 'rules.yml'));
  }
  // Rules are evaluated every 2 s here, so that an alert is seen within seconds.
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify({
    global: { scrape_interval: interval, evaluation_interval: '2s' },
    rule_files: ruleFiles,
    scrape_configs: [scrape],
  }));
  const dashboard = docs.find((o) => o.kind === 'ConfigMap' && o.metadata?.labels?.grafana_dashboard !== undefined);
  let exprs = [];
  if (dashboard) {
    const model = JSON.parse(Object.values(dashboard.data)[0]);
    exprs = model.panels.flatMap((p) => p.targets.map((t) => t.expr));
    fs.writeFileSync(path.join(dir, 'dashboard-rules.yml'), YAML.stringify({
      groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `wireguard_gateway_dashboard:panel_${i + 1}`, expr })) }],
    }));
    fs.writeFileSync(path.join(dir, 'dashboard-exprs.txt'), exprs.join('\n') + '\n');
  }
  const env = {
    METRICS_TARGET: `${podIp}:${port.containerPort}`, METRICS_PATH: scrape.metrics_path, METRICS_INTERVAL: interval,
    METRICS_JOB: job, METRICS_POD: pod, METRICS_NS: ns, METRICS_RULES: rule ? rule.spec.groups.flatMap((g) => g.rules).length : 0,
    METRICS_DASHBOARD_EXPRS: exprs.length,
  };
  fs.writeFileSync(path.join(dir, 'scrape.env'), Object.entries(env).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n');
  process.stdout.write(`prometheus config: job ${job}, target ${env.METRICS_TARGET}${env.METRICS_PATH} every ${interval}, `
    + `${env.METRICS_RULES} alert rules, ${exprs.length} dashboard expressions\n`);
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const { pos, opt } = parseArgs(rest);
  const api = (p) => `${opt.prometheus ?? fail('--prometheus URL is required')}${p}`;
  switch (cmd) {
    case 'config':
      return config(pos[0], pos[1], pos[2]);
    case 'ready': {
      const r = await get(api('/-/ready'), 1000);
      process.exit(r.status === 200 ? 0 : 1);
    }
    case 'query': {
      const r = await get(api(`/api/v1/query?query=${encodeURIComponent(pos[0])}`));
      const body = JSON.parse(r.body);
      if (body.status !== 'success') fail(`query ${pos[0]}: ${body.errorType}: ${body.error}`);
      const res = body.data.result;
      if (body.data.resultType === 'scalar') return process.stdout.write(`{} ${res[1]}\n`);
      for (const s of res) {
        const labels = Object.entries(s.metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${v}"`).join(',');
        process.stdout.write(`{${labels}} ${s.value[1]}\n`);
      }
      return undefined;
    }
    case 'rules': {
      const body = JSON.parse((await get(api('/api/v1/rules'))).body);
      for (const g of body.data.groups) {
        for (const r of g.rules) process.stdout.write(`${r.health} ${r.name} ${r.state ?? r.type}${r.lastError ? ` ${r.lastError}` : ''}\n`);
      }
      return undefined;
    }
    case 'fetch': {
      const r = await get(pos[0], 3000);
      if (opt.out) fs.writeFileSync(opt.out, r.body);
      process.stdout.write(`HTTP ${r.status} ${r.type}\n`);
      return undefined;
    }
    default:
      return fail(`unknown command ${cmd}`);
  }
}

main().catch((e) => fail(e.message));
