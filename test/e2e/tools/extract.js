#!/usr/bin/env node
/*
 * extract: turns the synthesized manifest into the files and commands of the
 * gateway pod, for the end-to-end suite.
 *
 *   node extract.js <gateway.k8s.yaml> <pod-dir>           the pod, as the kubelet would set it up
 *   node extract.js --stage <gateway.k8s.yaml> <pod-dir>   a new generation of the pod's ConfigMap
 *
 * It finds the gateway's Deployment, and for each volume the pod mounts writes
 * what Kubernetes would put there:
 *   configMap -> <pod-dir>/vol/<volume>/ in the kubelet's AtomicWriter layout: the
 *                files in a directory ..<timestamp>, a symlink ..data to it, and one
 *                symlink per key (<key> -> ..data/<key>)
 *   secret    -> <pod-dir>/vol/<volume>/<item path> (stringData or data, with defaultMode)
 *   emptyDir  -> <pod-dir>/vol/<volume>/            (empty)
 * Adaptation "mount paths": a mountPath becomes a directory of the run. The
 * container commands and nginx.conf name it instead (nginx.conf is a rendered
 * configuration, with no environment to read); the shipped scripts are not
 * changed: each container gets, as an environment variable, every script
 * variable whose default (NAME="${NAME:-/path}") lies under one of its mounts,
 * with the run's directory in its place. Nothing else is changed here.
 *
 * It writes <pod-dir>/pod.env (bash) with the container commands, their
 * environment (the manifest's, and the path variables above), each container's
 * read-only mounts (the harness bind-mounts them read-only in the container's
 * own mount namespace), the init container's privileges, the pod's sysctls,
 * the nginx container's user and group, the emptyDir directories, and the
 * routes and peers from connection-info.json.
 *
 * --stage writes the gateway ConfigMap's files (the data one, with
 * connection-info.json) into a new ..<timestamp> directory next to the live
 * one, without touching ..data, and prints that directory; the harness adapts
 * the files and then swaps ..data (see e2e_config_swap in lib.sh), as the
 * kubelet does. The code ConfigMap is immutable: it never changes under a pod.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

function fail(msg) {
  process.stderr.write(`extract: ${msg}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const stage = args[0] === '--stage';
const [manifest, podDir] = stage ? args.slice(1) : args;
if (!manifest || !podDir) fail('usage: extract.js [--stage] <gateway.k8s.yaml> <pod-dir>');

const docs = YAML.parseAllDocuments(fs.readFileSync(manifest, 'utf8')).map((d) => d.toJS()).filter(Boolean);
const deployments = docs.filter((o) => o.kind === 'Deployment' && o.metadata?.labels?.['app.kubernetes.io/name'] === 'wireguard-gateway');
if (deployments.length !== 1) fail(`expected one wireguard-gateway Deployment in ${manifest}, found ${deployments.length}`);
const dep = deployments[0];
const ns = dep.metadata.namespace;
const pod = dep.spec.template.spec;

function find(kind, name) {
  const found = docs.filter((o) => o.kind === kind && o.metadata?.name === name && (o.metadata.namespace ?? ns) === ns);
  if (found.length !== 1) fail(`the Deployment refers to ${kind} ${ns}/${name}, found ${found.length} in ${manifest}`);
  return found[0];
}

const volDir = (name) => path.join(podDir, 'vol', name);
const allContainers = [...(pod.initContainers ?? []), ...pod.containers];

// Adaptation "mount paths": every mountPath of every container -> its directory.
// A path is replaced only as a whole path (followed by "/", a quote, a space or
// the end), so "/run/secrets/x" never rewrites part of "/run/secrets/x-psk".
const mounts = [];
for (const c of allContainers) {
  for (const m of c.volumeMounts ?? []) {
    if (!(pod.volumes ?? []).some((v) => v.name === m.name)) fail(`container ${c.name} mounts unknown volume ${m.name}`);
    const known = mounts.find((x) => x.mountPath === m.mountPath);
    if (known && known.volume !== m.name) fail(`${m.mountPath} is mounted from two volumes (${known.volume}, ${m.name})`);
    if (!known) mounts.push({ mountPath: m.mountPath, volume: m.name, dir: path.resolve(volDir(m.name)) });
  }
}
mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const rewrite = (text) => mounts.reduce(
  (t, m) => t.replace(new RegExp(`${escape(m.mountPath)}(?=[/"'\\s;:})]|$)`, 'gm'), m.dir), text);
/** The files whose paths are rewritten: nginx.conf only (the scripts take theirs from the environment). */
const rewritten = (key, text) => (key === 'nginx.conf' ? rewrite(text) : text);

/** The kubelet's timestamped directory name: ..2006_01_02_15_04_05.<random>. */
function generationName() {
  const d = new Date();
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const stamp = `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
  return `..${stamp}.${String(process.hrtime.bigint() % 10000000000n).padStart(10, '0')}`;
}

/** Writes a ConfigMap volume's files into a new generation directory; returns it. */
function writeGeneration(v, dir) {
  const cm = find('ConfigMap', v.configMap.name);
  const items = v.configMap.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }));
  const gen = path.join(dir, generationName());
  fs.mkdirSync(gen, { recursive: true, mode: 0o755 });
  for (const it of items) {
    if (cm.data?.[it.key] === undefined) fail(`ConfigMap ${cm.metadata.name} has no key ${it.key}`);
    fs.writeFileSync(path.join(gen, it.path), rewritten(it.key, cm.data[it.key]), { mode: it.mode ?? v.configMap.defaultMode ?? 0o644 });
  }
  return { gen, files: items.map((i) => i.path) };
}

const configVolumes = (pod.volumes ?? []).filter((v) => v.configMap);
const dataVolume = configVolumes.find((v) => find('ConfigMap', v.configMap.name).data?.['connection-info.json'] !== undefined)
  ?? fail('no ConfigMap volume of the pod holds connection-info.json');
const codeVolume = configVolumes.find((v) => find('ConfigMap', v.configMap.name).data?.['init.sh'] !== undefined)
  ?? fail('no ConfigMap volume of the pod holds init.sh (the code ConfigMap)');
if (stage) {
  const { gen } = writeGeneration(dataVolume, volDir(dataVolume.name));
  process.stdout.write(`${gen}\n`);
  process.exit(0);
}

/** volume name -> { dir, kind, files } */
const volumes = {};
for (const v of pod.volumes ?? []) {
  const dir = volDir(v.name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (v.configMap) {
    const { gen, files } = writeGeneration(v, dir);
    fs.symlinkSync(path.basename(gen), path.join(dir, '..data'));
    for (const f of files) fs.symlinkSync(path.join('..data', f), path.join(dir, f));
    volumes[v.name] = { dir, kind: 'configMap', files };
  } else if (v.secret) {
    const s = find('Secret', v.secret.secretName);
    const value = (key) => s.stringData?.[key] ?? (s.data?.[key] !== undefined ? Buffer.from(s.data[key], 'base64').toString('utf8') : undefined);
    const keys = Object.keys({ ...(s.data ?? {}), ...(s.stringData ?? {}) });
    const items = v.secret.items ?? keys.map((key) => ({ key, path: key }));
    for (const it of items) {
      if (value(it.key) === undefined) fail(`Secret ${s.metadata.name} has no key ${it.key}`);
      fs.writeFileSync(path.join(dir, it.path), value(it.key), { mode: it.mode ?? v.secret.defaultMode ?? 0o644 });
    }
    volumes[v.name] = { dir, kind: 'secret', files: items.map((i) => i.path) };
  } else if (v.emptyDir) {
    volumes[v.name] = { dir, kind: 'emptyDir', files: [] };
  } else {
    fail(`volume ${v.name}: only configMap, secret and emptyDir are emulated`);
  }
}

// --- pod.env -----------------------------------------------------------------
const q = (s) => `'${String(s).split('\'').join('\'\\\'\'')}'`;
const arr = (name, xs) => `${name}=(${xs.map(q).join(' ')})`;
const assoc = (name, obj) => `declare -gA ${name}=(${Object.entries(obj).map(([k, v]) => `[${q(k)}]=${q(v)}`).join(' ')})`;

if ((pod.initContainers ?? []).length !== 1) fail(`expected one init container, found ${(pod.initContainers ?? []).length}`);
const container = (name) => pod.containers.find((c) => c.name === name) ?? fail(`the pod has no container ${name}`);
if (pod.containers.length !== 2) fail(`expected two containers (nginx, wireguard-agent), found ${pod.containers.map((c) => c.name).join(', ')}`);
const init = pod.initContainers[0];
const main = container('nginx');
const agent = container('wireguard-agent');
const command = (c) => {
  const cmd = [...(c.command ?? []), ...(c.args ?? [])];
  if (cmd.length === 0) fail(`container ${c.name} has no command: the suite runs the command the pod runs`);
  return cmd.map(rewrite);
};
const user = (c) => c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
const group = (c) => c.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup ?? user(c);
if (user(main) === undefined || user(main) === 0) fail(`the nginx container must run as a non-root user, runAsUser is ${user(main)}`);
// A container's environment: plain values as NAME=value, the downward API as
// NAME=@fieldRef:<fieldPath> (the harness supplies those values: no kubelet).
const environment = (c) => (c.env ?? []).map((e) => {
  if (e.value !== undefined) return `${e.name}=${e.value}`;
  if (e.valueFrom?.fieldRef?.fieldPath) return `${e.name}=@fieldRef:${e.valueFrom.fieldRef.fieldPath}`;
  return fail(`container ${c.name}: env ${e.name} comes from ${JSON.stringify(e.valueFrom)}; only values and fieldRefs are emulated`);
});
if ((c0(main.envFrom) + c0(agent.envFrom) + c0(init.envFrom)) !== '') fail('envFrom is not emulated');
const caps = (c) => c.securityContext?.capabilities ?? {};
if (user(agent) !== 0 || c0(caps(agent).drop) !== 'ALL' || JSON.stringify(caps(agent).add) !== '["NET_ADMIN"]' || agent.securityContext?.privileged) {
  fail(`the agent must be root with NET_ADMIN only, got ${JSON.stringify(agent.securityContext)}`);
}
function c0(xs) { return (xs ?? []).join(','); }

const configVolume = Object.entries(volumes).find(([, v]) => v.kind === 'configMap' && v.files.includes('connection-info.json'));
if (!configVolume) fail('no mounted ConfigMap holds connection-info.json');
const info = JSON.parse(fs.readFileSync(path.join(configVolume[1].dir, 'connection-info.json'), 'utf8'));
const emptyDir = (mountPath) => {
  const m = mounts.find((x) => x.mountPath === mountPath);
  return m && volumes[m.volume].kind === 'emptyDir' ? m.dir : fail(`nothing emptyDir is mounted at ${mountPath}`);
};

// The scripts' path variables: NAME="${NAME:-/absolute/path}" in every shipped script of the
// ConfigMap. A container gets NAME=<run directory...> for each one under one of its mounts.
const scriptDefaults = new Map();
for (const [key, text] of Object.entries(find('ConfigMap', codeVolume.configMap.name).data ?? {})) {
  if (!key.endsWith('.sh')) continue;
  for (const m of text.matchAll(/^([A-Z][A-Z0-9_]*)="\$\{\1:-(\/[^}$"]*)\}"$/gm)) scriptDefaults.set(m[1], m[2]);
}
const under = (p, dir) => p === dir || p.startsWith(`${dir}/`);
for (const [name, value] of scriptDefaults) {
  const below = mounts.find((m) => under(m.mountPath, value) && m.mountPath !== value && !mounts.some((o) => under(value, o.mountPath)));
  if (below) fail(`adaptation 'mount paths' cannot give ${name}: ${below.mountPath} is mounted below its default ${value}, which is not a mount itself`);
}
const pathEnv = (c) => [...scriptDefaults].flatMap(([name, value]) => {
  const m = (c.volumeMounts ?? []).map((x) => mounts.find((y) => y.mountPath === x.mountPath)).find((x) => under(value, x.mountPath));
  return m === undefined ? [] : [`${name}=${m.dir}${value.slice(m.mountPath.length)}`];
});

// Mount modes: each container's read-only mounts, as directories of the run.
const readOnlyDirs = (c) => (c.volumeMounts ?? []).filter((m) => m.readOnly === true).map((m) => mounts.find((x) => x.mountPath === m.mountPath).dir);
// The init container's privileges: privileged (every capability), or the capabilities it adds.
const initPrivileged = init.securityContext?.privileged === true;
const initCaps = initPrivileged ? [] : (init.securityContext?.capabilities?.add ?? []);
if (!initPrivileged && c0(init.securityContext?.capabilities?.drop) !== 'ALL') fail(`an unprivileged init container must drop ALL, got ${JSON.stringify(init.securityContext)}`);
const sysctls = (pod.securityContext?.sysctls ?? []).map((x) => `${x.name}=${x.value}`);

const probe = agent.readinessProbe;
if (!probe?.exec?.command?.length) fail('the agent container has no exec readiness probe');
const preStop = main.lifecycle?.preStop?.exec?.command ?? [];
if (JSON.stringify(agent.lifecycle ?? {}) !== JSON.stringify(main.lifecycle ?? {})) fail('nginx and the agent must drain alike (preStop)');
const drainSeconds = preStop.length === 0 ? 0 : preStop[0] === 'sleep' && /^\d+$/.test(preStop[1]) ? Number(preStop[1]) : fail(`preStop ${JSON.stringify(preStop)}: only "sleep N" is emulated`);

const lines = [
  '# Written by test/e2e/tools/extract.js from the synthesized manifest. Do not edit.',
  arr('POD_READY_CMD', probe.exec.command.map(rewrite)),
  `POD_READY_TIMEOUT=${q(probe.timeoutSeconds ?? 1)}`,
  `POD_READY_PERIOD=${q(probe.periodSeconds ?? 10)}`,
  `POD_DRAIN_SECONDS=${q(drainSeconds)}`,
  `POD_GRACE_SECONDS=${q(pod.terminationGracePeriodSeconds ?? 30)}`,
  arr('POD_INIT_CMD', command(init)),
  arr('POD_NGINX_CMD', command(main)),
  arr('POD_AGENT_CMD', command(agent)),
  arr('POD_INIT_ENV', environment(init)),
  arr('POD_NGINX_ENV', environment(main)),
  arr('POD_AGENT_ENV', environment(agent)),
  arr('POD_INIT_PATH_ENV', pathEnv(init)),
  arr('POD_NGINX_PATH_ENV', pathEnv(main)),
  arr('POD_AGENT_PATH_ENV', pathEnv(agent)),
  `POD_INIT_UID=${q(user(init) ?? 0)}`,
  `POD_NGINX_UID=${q(user(main))}`,
  `POD_NGINX_GID=${q(group(main))}`,
  `POD_FS_GROUP=${q(pod.securityContext?.fsGroup ?? group(main))}`,
  `POD_CONFIG_DIR=${q(configVolume[1].dir)}`,
  `POD_CODE_DIR=${q(volumes[codeVolume.name].dir)}`,
  arr('POD_EMPTYDIRS', Object.values(volumes).filter((v) => v.kind === 'emptyDir').map((v) => v.dir)),
  `POD_NGINX_RUN_DIR=${q(emptyDir('/tmp/nginx'))}`,
  `POD_AGENT_OUT=${q(emptyDir('/run/wireguard-gateway/agent-out'))}`,
  `POD_NGINX_OUT=${q(emptyDir('/run/wireguard-gateway/nginx-out'))}`,
  `POD_AGENT_DIR=${q(emptyDir('/run/wireguard-agent'))}`,
  arr('POD_INIT_RO', readOnlyDirs(init)),
  arr('POD_NGINX_RO', readOnlyDirs(main)),
  arr('POD_AGENT_RO', readOnlyDirs(agent)),
  `POD_INIT_PRIVILEGED=${q(initPrivileged ? 1 : 0)}`,
  arr('POD_INIT_CAPS', initCaps.map((c) => c.toLowerCase())),
  arr('POD_SYSCTLS', sysctls),
  arr('POD_MOUNTS', mounts.map((m) => `${m.mountPath} -> ${m.dir}`)),
  `GW_PUBLIC_KEY=${q(info.publicKey)}`,
  `GW_LISTEN_PORT=${q(info.listenPort)}`,
  `GW_ENDPOINT=${q(info.endpoint)}`,
  `GW_SERVICE_NETWORK=${q(info.serviceNetwork)}`,
  arr('ROUTE_NAMES', info.routes.map((r) => r.name)),
  assoc('ROUTE_ADDR', Object.fromEntries(info.routes.map((r) => [r.name, r.address]))),
  assoc('ROUTE_PORT', Object.fromEntries(info.routes.map((r) => [r.name, r.port]))),
  assoc('ROUTE_HOST', Object.fromEntries(info.routes.map((r) => [r.name, r.target.slice(0, r.target.lastIndexOf(':'))]))),
  assoc('ROUTE_TARGET_PORT', Object.fromEntries(info.routes.map((r) => [r.name, r.target.slice(r.target.lastIndexOf(':') + 1)]))),
  assoc('ROUTE_KIND', Object.fromEntries(info.routes.map((r) => [r.name, r.kind]))),
  arr('PEER_NAMES', info.peers.map((p) => p.name)),
  assoc('PEER_ADDR', Object.fromEntries(info.peers.map((p) => [p.name, p.address]))),
  assoc('PEER_PUBLIC_KEY', Object.fromEntries(info.peers.map((p) => [p.name, p.publicKey]))),
  // The addresses whose routes allow the peer (allow lists are on the routes).
  assoc('PEER_ALLOWED', Object.fromEntries(info.peers.map((p) => [p.name,
    [...new Set(info.routes.filter((r) => !r.allowPeers || r.allowPeers.includes(p.address)).map((r) => r.address))].join(' ')]))),
];
fs.writeFileSync(path.join(podDir, 'pod.env'), lines.join('\n') + '\n');
process.stdout.write(`extract: ${docs.length} objects; pod ${ns}/${dep.metadata.name}: init ${JSON.stringify(init.command)}, `
  + `nginx ${JSON.stringify(main.command)} as ${user(main)}:${group(main)}, agent ${JSON.stringify(agent.command)}; `
  + `${info.routes.length} routes, ${info.peers.length} peers\n`);
