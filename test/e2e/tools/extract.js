#!/usr/bin/env node
/*
 * extract: turns the synthesized manifest into the files and commands of the
 * gateway pod, for the end-to-end suite.
 *
 *   node extract.js <gateway.k8s.yaml> <pod-dir>
 *
 * It finds the gateway's Deployment, and for each volume the pod mounts writes
 * what Kubernetes would put there:
 *   configMap -> <pod-dir>/vol/<volume>/<key>       (every key of the ConfigMap, or its items)
 *   secret    -> <pod-dir>/vol/<volume>/<item path> (stringData or data, with defaultMode)
 *   emptyDir  -> <pod-dir>/vol/<volume>/            (empty)
 * Adaptation "mount paths": a mountPath becomes a directory of the run, so
 * every mountPath is rewritten to that directory in the mounted files and in
 * the container commands. Nothing else in them is changed here.
 *
 * It writes <pod-dir>/pod.env (bash) with the container commands, the nginx
 * container's user and group, the emptyDir directories, and the routes and
 * peers from connection-info.json.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

function fail(msg) {
  process.stderr.write(`extract: ${msg}\n`);
  process.exit(1);
}

const [manifest, podDir] = process.argv.slice(2);
if (!manifest || !podDir) fail('usage: extract.js <gateway.k8s.yaml> <pod-dir>');

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

/** volume name -> { dir, kind } */
const volumes = {};
for (const v of pod.volumes ?? []) {
  const dir = volDir(v.name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (v.configMap) {
    const cm = find('ConfigMap', v.configMap.name);
    const items = v.configMap.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }));
    for (const it of items) {
      if (cm.data?.[it.key] === undefined) fail(`ConfigMap ${cm.metadata.name} has no key ${it.key}`);
      fs.writeFileSync(path.join(dir, it.path), cm.data[it.key], { mode: it.mode ?? v.configMap.defaultMode ?? 0o644 });
    }
    volumes[v.name] = { dir, kind: 'configMap', files: items.map((i) => i.path) };
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

// Adaptation "mount paths": every mountPath of either container -> its directory.
const mounts = [];
for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
  for (const m of c.volumeMounts ?? []) {
    if (!volumes[m.name]) fail(`container ${c.name} mounts unknown volume ${m.name}`);
    const known = mounts.find((x) => x.mountPath === m.mountPath);
    if (known && known.volume !== m.name) fail(`${m.mountPath} is mounted from two volumes (${known.volume}, ${m.name})`);
    if (!known) mounts.push({ mountPath: m.mountPath, volume: m.name, dir: volumes[m.name].dir });
  }
}
mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
const rewrite = (text) => mounts.reduce((t, m) => t.split(m.mountPath).join(m.dir), text);
for (const v of Object.values(volumes)) {
  if (v.kind !== 'configMap') continue;
  for (const f of v.files) {
    const p = path.join(v.dir, f);
    fs.writeFileSync(p, rewrite(fs.readFileSync(p, 'utf8')));
  }
}

// --- pod.env -----------------------------------------------------------------
const q = (s) => `'${String(s).split('\'').join('\'\\\'\'')}'`;
const arr = (name, xs) => `${name}=(${xs.map(q).join(' ')})`;
const assoc = (name, obj) => `declare -gA ${name}=(${Object.entries(obj).map(([k, v]) => `[${q(k)}]=${q(v)}`).join(' ')})`;

if ((pod.initContainers ?? []).length !== 1) fail(`expected one init container, found ${(pod.initContainers ?? []).length}`);
if (pod.containers.length !== 1) fail(`expected one container, found ${pod.containers.length}`);
const init = pod.initContainers[0];
const main = pod.containers[0];
const command = (c) => {
  const cmd = [...(c.command ?? []), ...(c.args ?? [])];
  if (cmd.length === 0) fail(`container ${c.name} has no command: the suite runs the command the pod runs`);
  return cmd.map(rewrite);
};
const user = (c) => c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
const group = (c) => c.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup ?? user(c);
if (user(main) === undefined || user(main) === 0) fail(`the nginx container must run as a non-root user, runAsUser is ${user(main)}`);

const configVolume = Object.entries(volumes).find(([, v]) => v.kind === 'configMap' && v.files.includes('connection-info.json'));
if (!configVolume) fail('no mounted ConfigMap holds connection-info.json');
const info = JSON.parse(fs.readFileSync(path.join(configVolume[1].dir, 'connection-info.json'), 'utf8'));

const lines = [
  '# Written by test/e2e/tools/extract.js from the synthesized manifest. Do not edit.',
  arr('POD_INIT_CMD', command(init)),
  arr('POD_NGINX_CMD', command(main)),
  `POD_INIT_UID=${q(user(init) ?? 0)}`,
  `POD_NGINX_UID=${q(user(main))}`,
  `POD_NGINX_GID=${q(group(main))}`,
  `POD_FS_GROUP=${q(pod.securityContext?.fsGroup ?? group(main))}`,
  `POD_CONFIG_DIR=${q(configVolume[1].dir)}`,
  arr('POD_EMPTYDIRS', Object.values(volumes).filter((v) => v.kind === 'emptyDir').map((v) => v.dir)),
  arr('POD_MOUNTS', mounts.map((m) => `${m.mountPath} -> ${m.dir}`)),
  `GW_PUBLIC_KEY=${q(info.publicKey)}`,
  `GW_LISTEN_PORT=${q(info.listenPort)}`,
  `GW_ENDPOINT=${q(info.endpoint)}`,
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
  + `nginx ${JSON.stringify(main.command)} as ${user(main)}:${group(main)}; ${info.routes.length} routes, ${info.peers.length} peers\n`);
