/**
 * Property-based tests of every renderer (nginx.conf, wg0.conf, the scripts'
 * data: routes.tsv, peers.tsv, start.env; the client wg-quick file, the hosts
 * file, connection-info.json).
 *
 * Inputs are arbitrary chart, gateway, route and peer names (construct ids,
 * which reach comments), gateway names (which name objects), hosts, Service
 * names, namespaces, cluster domains and
 * endpoints, hostile ones included: `;` `{` `}` `$` quotes, newlines, unicode,
 * JavaScript member names. For each input, either the library rejects it with
 * a message in its shape, or every rendered file has exactly the expected
 * structure: nginx.conf is parsed back and its server blocks compared, the
 * scripts are the shipped ones, the tables have one row of four fields per route
 * or peer, wg0.conf and the client file parse to exactly the expected sections
 * and keys.
 *
 * Seeded and reproducible: PROPERTY_SEED and PROPERTY_RUNS override the fixed
 * seed and the 10,000 runs.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as fc from 'fast-check';
import { GatewayRoute, WireguardGateway, WireguardKey, WireguardPeer } from '../src';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY, recordNginxConf, startEnvNetwork, testChart, testGateway } from './util';
import { scriptText } from '../src/_assets';
import { promLabelValue } from '../src/_render-data';

const SEED = Number(process.env.PROPERTY_SEED ?? 20261126);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 10_000);

// --- Arbitraries ----------------------------------------------------------------

const HOSTILE_CHARS = [';', '{', '}', '$', '"', '\'', '`', '\\', '\n', '\r', '\t', ' ', '#', '(', ')', '|', '&', '<', '>', '*',
  '\0', '\u2028', '\u00e9', '\u{1F4A5}', '\u202e', '=', '[', ']', ':', '/', '.', '-', '_', 'a', 'b', 'Z', '0', '9', '%', '@'];
const NASTY = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'Service', 'Config', 'Deployment', 'PresharedKeys',
  'NetworkPolicy', 'PrivateKey', '}\nserver {\n  listen 0.0.0.0:22;', '"; proxy_pass evil:1; #', '$(reboot)', '`id`',
  '\n[Peer]\nAllowedIPs = 0.0.0.0/0', 'a/b/c', '..', '-', '\u0000', 'x'.repeat(300), 'd\u00e9j\u00e0-vu', '\u{1F4A5}'];

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const tld = fc.stringMatching(/^[a-z]([a-z0-9-]{0,6}[a-z0-9])?$/);
const dnsName = fc.oneof(
  { weight: 9, arbitrary: fc.tuple(fc.array(label, { maxLength: 3 }), tld).map(([ls, t]) => [...ls, t].join('.')) },
  { weight: 1, arbitrary: fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.')) },
)
  .chain((n) => fc.constantFrom(n, n.toUpperCase(), `${n}.`));
const hostile = fc.oneof(
  fc.string({ unit: fc.constantFrom(...HOSTILE_CHARS), minLength: 1, maxLength: 24 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.constantFrom(...NASTY),
);
/** A construct id: often harmless, often hostile. */
const id = fc.oneof(label, hostile, fc.tuple(label, hostile).map(([a, b]) => a + b));
/** Text meant to be a DNS name: valid, hostile, or valid with something hostile inside. */
const hostText = fc.oneof(
  { weight: 12, arbitrary: dnsName },
  { weight: 1, arbitrary: hostile },
  { weight: 1, arbitrary: fc.tuple(dnsName, hostile, dnsName).map(([a, b, c]) => `${a}${b}${c}`) },
);
const labelText = fc.oneof({ weight: 12, arbitrary: label }, { weight: 1, arbitrary: hostile });
const endpoint = fc.oneof({ weight: 3, arbitrary: dnsName }, { weight: 2, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.constantFrom('fd00::1', '2001:db8::10', 'fe80::1%eth0') }, { weight: 1, arbitrary: hostile });

interface RouteInput { id: string; db: boolean; host: string; serviceName: string; namespace: string; restricted: boolean }
interface Input {
  chartNamespace: string;
  gatewayId: string;
  /** The gateway's name; without one, the id must be a DNS-1035 label. */
  gatewayName: string | undefined;
  clusterDomain: string | undefined;
  endpoint: string | undefined;
  routes: RouteInput[];
  peers: string[];
}

const input: fc.Arbitrary<Input> = fc.record({
  chartNamespace: fc.oneof({ weight: 12, arbitrary: fc.constant('wireguard') }, { weight: 1, arbitrary: labelText }),
  gatewayId: id,
  gatewayName: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/) },
    { weight: 1, arbitrary: labelText },
  ),
  clusterDomain: fc.option(hostText, { nil: undefined }),
  endpoint: fc.option(endpoint, { nil: undefined }),
  routes: fc.array(fc.record({ id, db: fc.boolean(), host: hostText, serviceName: labelText, namespace: labelText, restricted: fc.boolean() }),
    { minLength: 1, maxLength: 3 }),
  peers: fc.array(id, { minLength: 0, maxLength: 3 }),
});

// --- Building -------------------------------------------------------------------

/** One key object: deriving the public key (Curve25519) is the slowest step under jest. */
const SERVER_KEY = WireguardKey.unsafeFromBase64(TEST_SERVER_PRIVATE_KEY);

interface Built { gw: WireguardGateway; routes: Array<{ route: GatewayRoute; input: RouteInput; allow?: WireguardPeer[] }>; peers: WireguardPeer[] }

function build(i: Input): Built {
  const gw = new WireguardGateway(testChart(i.chartNamespace), i.gatewayId, {
    name: i.gatewayName,
    privateKey: SERVER_KEY,
    clusterDomain: i.clusterDomain,
    endpoint: i.endpoint,
  });
  const peers = i.peers.map((p, n) => gw.addPeer(p, { publicKey: PEER_KEYS[n], address: `10.98.0.${n + 2}` }));
  const routes = i.routes.map((r, n) => {
    const allow = r.restricted && peers.length > 0 ? [peers[0]] : undefined;
    const listenPort = 5000 + n;
    const route = r.db
      ? gw.addManagedDbRoute(r.id, { host: r.host, port: 5432, listenPort, cidrs: ['10.20.0.0/16'], allowPeers: allow })
      : gw.addProxiedService(r.id, { serviceName: r.serviceName, serviceNamespace: r.namespace, port: 5432, listenPort, allowPeers: allow });
    return { route, input: r, allow };
  });
  return { gw, routes, peers };
}

/** Whole-app validation, as synth runs it. */
function validationErrors(gw: WireguardGateway): string[] {
  return gw.node.findAll().flatMap((c) => c.node.validate());
}

/** The library's message shape, with the construct path first. */
function expectLibraryMessage(message: string, what: string): void {
  if (!/^\S[\s\S]*: (invalid [\s\S]+|the [\s\S]+)\. Fix: [^\n]+$/.test(message)) {
    throw new Error(`${what}: not a library-shaped message: ${JSON.stringify(message)}`);
  }
}

// --- Parsers ----------------------------------------------------------------------

interface Directive { name: string; args: string[]; block?: Directive[] }

/** A small nginx config parser: words, quoted strings, `;`, `{ }`, `#` comments. */
export function parseNginx(conf: string): Directive[] {
  const tokens: Array<{ t: string; quoted: boolean }> = [];
  let i = 0;
  while (i < conf.length) {
    const ch = conf[i];
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === '#') { while (i < conf.length && conf[i] !== '\n') i++; continue; }
    if (ch === '{' || ch === '}' || ch === ';') { tokens.push({ t: ch, quoted: false }); i++; continue; }
    if (ch === '"' || ch === '\'') {
      let j = i + 1; let s = '';
      while (j < conf.length && conf[j] !== ch) {
        if (conf[j] === '\\') { s += conf[j + 1]; j += 2; continue; }
        s += conf[j++];
      }
      if (j >= conf.length) throw new Error('unterminated string');
      tokens.push({ t: s, quoted: true }); i = j + 1; continue;
    }
    let j = i;
    while (j < conf.length && !/[\s;{}"'#]/.test(conf[j])) j++;
    tokens.push({ t: conf.slice(i, j), quoted: false }); i = j;
  }
  let p = 0;
  function block(top: boolean): Directive[] {
    const out: Directive[] = [];
    while (p < tokens.length) {
      if (!tokens[p].quoted && tokens[p].t === '}') {
        if (top) throw new Error('unbalanced }');
        p++; return out;
      }
      const name = tokens[p++].t;
      const args: string[] = [];
      while (p < tokens.length && (tokens[p].quoted || !['{', ';', '}'].includes(tokens[p].t))) args.push(tokens[p++].t);
      if (p >= tokens.length) throw new Error(`directive ${name} not terminated`);
      if (tokens[p].t === ';') { p++; out.push({ name, args }); continue; }
      if (tokens[p].t === '{') { p++; out.push({ name, args, block: block(false) }); continue; }
      throw new Error(`unexpected } after ${name}`);
    }
    if (!top) throw new Error('unbalanced {');
    return out;
  }
  return block(true);
}

/** An INI file as wg and wg-quick read it: sections with `Key = Value` lines, `#` comments. */
function parseIni(text: string): Array<{ section: string; keys: Array<[string, string]> }> {
  const out: Array<{ section: string; keys: Array<[string, string]> }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || /^# [ -~]*$/.test(line)) continue;
    const s = /^\[(Interface|Peer)\]$/.exec(line);
    if (s) { out.push({ section: s[1], keys: [] }); continue; }
    const kv = /^([A-Za-z]+) = ([ -~]+)$/.exec(line);
    if (!kv || out.length === 0) throw new Error(`unexpected line ${JSON.stringify(line)}`);
    out[out.length - 1].keys.push([kv[1], kv[2]]);
  }
  return out;
}

const ASCII = /^[\n -~]*$/;
const norm = (host: string) => host.toLowerCase().replace(/\.$/, '');
const ipSort = (a: string, b: string) => {
  const pa = a.split('.').map(Number); const pb = b.split('.').map(Number);
  for (let k = 0; k < 4; k++) if (pa[k] !== pb[k]) return pa[k] - pb[k];
  return 0;
};

// --- Expected structure -------------------------------------------------------------

function checkNginxConf(conf: string, b: Built): void {
  if (!ASCII.test(conf)) throw new Error('nginx.conf is not plain ASCII');
  const top = parseNginx(conf);
  expectEqual(top.map((d) => d.name), ['daemon', 'worker_processes', 'worker_rlimit_nofile', 'pid', 'error_log', 'error_log', 'events', 'stream'], 'nginx top level');
  const stream = top[7].block!;
  expectEqual(stream.slice(0, 5).map((d) => d.name), ['include', 'log_format', 'access_log', 'limit_conn_zone', 'limit_conn'], 'stream header');
  const servers = stream.slice(5);
  expectEqual(servers.every((s) => s.name === 'server' && s.args.length === 0 && s.block !== undefined), true, 'only server blocks follow');
  const actual = servers.map((s) => JSON.stringify(s.block!.map((d) => [d.name, ...d.args]))).sort();
  const expected = b.routes.map(({ route, input: r, allow }) => {
    const clusterDomain = norm(b.gw.clusterDomain);
    const host = r.db ? norm(r.host) : `${r.serviceName}.${r.namespace}.svc.${clusterDomain}`;
    return JSON.stringify([
      ['listen', `${route.address}:${route.listenPort}`],
      ...(allow ? [...allow.map((p) => ['allow', p.address]).sort(), ['deny', 'all']] : []),
      ['set', '$backend', `${host}:5432`],
      ['proxy_pass', '$backend'],
      ['proxy_connect_timeout', '10s'],
      ['proxy_timeout', '86400s'],
      ['proxy_socket_keepalive', 'on'],
    ]);
  }).sort();
  expectEqual(actual, expected, 'nginx server blocks');
}

/** The scripts are the shipped ones, in the code ConfigMap, whatever the input: only data differs between gateways. */
function checkScripts(code: Record<string, string>, data: Record<string, string>): void {
  for (const script of ['init.sh', 'agent.sh', 'start-nginx.sh'] as const) expectEqual(code[script] === scriptText(script), true, `${script} is the shipped file`);
  expectEqual(Object.keys(data).filter((f) => f.endsWith('.sh')), [], 'no script in the data ConfigMap');
}

/** start-nginx.sh's check of nginx.conf as data (what a running pod applies) passes on a rendered file. */
function passesStartCheck(conf: string, startEnv: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'wggw-property-'));
  try {
    writeFileSync(join(dir, 'start.env'), startEnv);
    writeFileSync(join(dir, 'nginx.conf'), conf);
    const r = spawnSync('sh', [join(__dirname, '..', 'assets', 'start-nginx.sh'), 'check', join(dir, 'nginx.conf')], { env: { PATH: process.env.PATH, CONFIG_DIR: dir }, encoding: 'utf-8' });
    if (r.status !== 0) throw new Error(`start-nginx.sh check refused a rendered nginx.conf: ${r.stderr}\n${conf}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * routes.tsv and peers.tsv: one row of exactly four tab-separated fields per
 * route or peer, whatever its name; start.env names no construct path.
 */
function checkTables(data: Record<string, string>, b: Built): void {
  const rows = (table: string) => table.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split('\t'));
  if (!/^[\n\t -~\u0080-\u{10FFFF}]*$/u.test(data['routes.tsv'] + data['peers.tsv'])) throw new Error('a table holds a control character');
  expectEqual(rows(data['routes.tsv']).map((r) => r.join(' | ')).sort(),
    b.routes.map(({ route }) => [route.address, route.listenPort, route.targetHost, promLabelValue(route.node.id)].join(' | ')).sort(), 'routes.tsv rows');
  expectEqual(rows(data['peers.tsv']).map((r) => r.join(' | ')).sort(),
    b.peers.map((p) => [p.publicKey, p.address, '-', promLabelValue(p.node.id)].join(' | ')).sort(), 'peers.tsv rows');
  expectEqual(/^[\n -~]*$/.test(data['start.env']) && !data['start.env'].includes(b.gw.node.path), true, 'start.env: ASCII, no construct path');
}

function checkWgConf(text: string, b: Built): void {
  if (!ASCII.test(text)) throw new Error('wg0.conf is not plain ASCII');
  expectEqual(parseIni(text), [
    { section: 'Interface', keys: [['ListenPort', '51820']] },
    ...[...b.peers].sort((x, y) => ipSort(x.address, y.address)).map((p) => ({ section: 'Peer', keys: [['PublicKey', p.publicKey], ['AllowedIPs', `${p.address}/32`]] })),
  ], 'wg0.conf');
}

function checkClientConfig(b: Built): void {
  if (b.peers.length === 0 || b.gw.endpoint === undefined) return;
  const p = b.peers[0];
  const text = p.clientConfig();
  if (!ASCII.test(text)) throw new Error('client config is not plain ASCII');
  const ini = parseIni(text);
  const ep = b.gw.endpoint.includes(':') ? `[${b.gw.endpoint}]:51820` : `${b.gw.endpoint}:51820`;
  expectEqual(ini.map((s) => [s.section, s.keys.map(([k]) => k)]), [
    ['Interface', ['PrivateKey', 'Address', 'MTU']],
    ['Peer', ['PublicKey', 'Endpoint', 'AllowedIPs', 'PersistentKeepalive']],
  ], 'client config sections');
  const value = (s: number, k: string) => ini[s].keys.find(([key]) => key === k)![1];
  expectEqual(/^<private key of peer [A-Za-z0-9._/:-]+(\.\.\.)?: the gateway never knows it; paste the key whose public key you registered>$/.test(value(0, 'PrivateKey')), true, 'placeholder');
  expectEqual([value(0, 'Address'), value(1, 'Endpoint'), value(1, 'PublicKey')], [`${p.address}/32`, ep, b.gw.publicKey], 'client config values');
}

function checkHostsAndInfo(data: Record<string, string>, b: Built): void {
  const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  const hosts = b.gw.hostsFile();
  const names: string[] = [];
  for (const line of hosts.split('\n').filter((l) => l !== '')) {
    const m = /^(\d+\.\d+\.\d+\.\d+)((?: [a-z0-9-]+)+)$/.exec(line);
    if (!m) throw new Error(`hosts file line ${JSON.stringify(line)}`);
    names.push(...m[2].trim().split(' '));
  }
  expectEqual(names.sort(), b.routes.map((r) => r.route.node.id.toLowerCase()).filter((n) => LABEL.test(n)).sort(), 'hosts names');
  const info = JSON.parse(data['connection-info.json']);
  expectEqual(info.routes.map((r: any) => r.name).sort(), b.routes.map((r) => r.route.node.id).sort(), 'connection-info route names');
  expectEqual(info.peers.map((p: any) => p.name).sort(), b.peers.map((p) => p.node.id).sort(), 'connection-info peer names');
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual); const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}:\n  got      ${a}\n  expected ${e}`);
}

// --- The property ----------------------------------------------------------------

describe('renderers under arbitrary and hostile names, hosts and comments', () => {
  test(`every input is rejected with a library message or renders exactly the expected structure (${RUNS} runs, seed ${SEED})`, () => {
    // eslint-disable-next-line no-console
    console.log(`property seed ${SEED}, ${RUNS} runs (PROPERTY_SEED / PROPERTY_RUNS to change)`);
    const stats = { accepted: 0, rejectedAtConstruct: 0, rejectedAtSynth: 0, clientConfigs: 0 };
    const samples: Array<{ conf: string; startEnv: string }> = [];
    fc.assert(fc.property(input, (i) => {
      let b: Built;
      try {
        b = build(i);
      } catch (e) {
        expectLibraryMessage((e as Error).message, 'construct error');
        stats.rejectedAtConstruct++;
        return;
      }
      const errors = validationErrors(b.gw);
      if (errors.length > 0) {
        errors.forEach((m) => expectLibraryMessage(m, 'validation error'));
        stats.rejectedAtSynth++;
        return;
      }
      const data = ApiObject.of(b.gw.configMap).toJson().data;
      checkNginxConf(data['nginx.conf'], b);
      checkScripts(ApiObject.of(b.gw.codeConfigMap).toJson().data, data);
      checkTables(data, b);
      checkWgConf(data['wg0.conf'], b);
      checkHostsAndInfo(data, b);
      checkClientConfig(b);
      if (b.peers.length > 0 && b.gw.endpoint !== undefined) stats.clientConfigs++;
      stats.accepted++;
      if (stats.accepted % 100 === 1) samples.push({ conf: data['nginx.conf'], startEnv: data['start.env'] });
    }), { seed: SEED, numRuns: RUNS, verbose: 1 });
    // eslint-disable-next-line no-console
    console.log(`property results: ${JSON.stringify(stats)}`);
    // Neither side is vacuous: many inputs render, many are refused.
    expect(stats.accepted).toBeGreaterThan(RUNS * 0.2);
    expect(stats.rejectedAtConstruct).toBeGreaterThan(RUNS * 0.1);
    expect(stats.clientConfigs).toBeGreaterThan(RUNS * 0.05);
    // A sample of what was accepted passes start-nginx.sh's check (a pod takes it live as data),
    // and goes through the real nginx -t, in the system tier.
    expect(samples.length).toBeGreaterThan(10);
    samples.forEach((x) => passesStartCheck(x.conf, x.startEnv));
    samples.forEach((x) => recordNginxConf(x.conf, startEnvNetwork(x.startEnv)));
  });

  test('the nginx parser sees an injected directive (it is not blind)', () => {
    const injected = 'daemon off;\nstream {\n  server {\n    listen 1.2.3.4:1;\n    set $backend "a:1"; allow all;\n  }\n}\n';
    expect(parseNginx(injected)[1].block![0].block!.map((d) => d.name)).toEqual(['listen', 'set', 'allow']);
    expect(() => parseNginx('stream { server {\n}')).toThrow('unbalanced {');
  });

  // Hostile inputs the property found, kept as regressions.
  test.each([
    ['a route named "toString" gets a library message, not constructs\' "already a Construct"', 'toString'],
    ['a route named "Service" (a part of the gateway) gets a library message', 'Service'],
  ])('regression: %s', (_name, routeId) => {
    const gw = testGateway();
    expect(() => gw.addProxiedService(routeId, { serviceName: 'pg', port: 5432 })).toThrow(new RegExp(`^test/gw/${routeId}: invalid route id "${routeId}": .*\\. Fix: `));
  });

  test('regression: a peer named "PresharedKey1" no longer collides with the gateway\'s preshared-key volumes', () => {
    const gw = testGateway();
    gw.addPeer('PresharedKey1', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    const psk = kplus.Secret.fromSecretName(gw, 'Psk', 'psk');
    const other = gw.addPeer('other', { publicKey: PEER_KEYS[1], address: '10.98.0.3', presharedKeySecret: psk });
    expect(other.node.path).toBe('test/gw/other');
  });
});
