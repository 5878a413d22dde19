/**
 * bench:synth: the time and peak memory of synthesizing a WireguardGateway
 * with N routes and N peers, next to a hand-written baseline that builds the
 * same Kubernetes objects with plain cdk8s ApiObjects and the same config
 * texts given (precomputed, outside the measurement).
 *
 *   npm run bench:synth                        # N = 100, 1,000, 10,000; 7 samples each
 *   BENCH_REPEAT=9 BENCH_N=1000 npm run bench:synth
 *
 * Every sample runs in a fresh child process (fork), so each one has its own
 * peak memory: process.resourceUsage().maxRSS of the child. The child loads
 * its modules and reads its inputs, runs a full GC, notes its RSS, and only
 * then starts the clock. "Synthesize" is App.synthYaml(): build the
 * constructs, resolve (Lazy values included), validate, serialize YAML. No
 * disk writes are timed. Reported figures are medians over the samples.
 *
 * Scenarios (the routes alternate ProxiedService / ManagedDbRoute):
 *   paired: route i allows only peer i (allowPeers). Output size is linear in N.
 *   all:    no allowPeers, every peer may reach every route (the default).
 *           connection-info.json lists every peer's reachable addresses, so
 *           the output itself grows as N * N.
 */
import { fork } from 'child_process';
import { createHash } from 'crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir, totalmem } from 'os';
import { join } from 'path';

type Scenario = 'paired' | 'all';
type Impl = 'library' | 'baseline';

/** The gateway's own test-only key; never used outside benchmarks and tests. */
const SERVER_PRIVATE_KEY = 'sOOEVn4TBpy08BesrjOtrNjKMlL5q/VQ7TC1VJZwblY=';

/** What a hand-written NetworkPolicy needs to know of each route. */
interface RouteInput { namespace?: string; cidrs?: string[]; port: number }

/** The baseline's inputs: the objects as a user would write them, with the config texts given. */
interface BaselineInput { objects: any[]; routes: RouteInput[] }

interface Sample {
  ms: number;
  /** CPU time of the whole child process (all threads, GC included) over the same span, ms. */
  cpuMs: number;
  /** Peak RSS of the child process, MiB. */
  maxRssMiB: number;
  /** RSS after loading modules and inputs and a full GC, just before the clock starts, MiB. */
  startRssMiB: number;
  yamlBytes: number;
  sha256: string;
}

interface Failure { error: string; ms: number; maxRssMiB: number }

// ---------------------------------------------------------------------------
// What the user builds: N peers and N routes.
// ---------------------------------------------------------------------------

/** A deterministic, well-formed WireGuard public key for peer i. */
function peerKey(i: number): string {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(i + 1, 0);
  b[31] = 0x40;
  return b.toString('base64');
}

/** Peer i's tunnel address, in 10.100.0.0/14: outside the service network. */
function peerAddress(i: number): string {
  return `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

function routeInput(i: number): RouteInput {
  return i % 2 === 0
    ? { namespace: `apps-${i % 10}`, port: 5432 + (i % 4) }
    : { cidrs: [`10.${20 + (i % 8)}.0.0/16`], port: 5432 + (i % 4) };
}

/**
 * Routes and peers per gateway. One gateway's ConfigMap must stay under
 * Kubernetes' 1 MiB, which holds about 1,000 routes and 1,000 peers (the
 * library rejects more at synth), so larger N is synthesized the way a user
 * would: as several gateways of at most this many, in one chart.
 */
const PER_GATEWAY = 1000;

function buildLibrary(scenario: Scenario, n: number) {
  // Loaded here so that the baseline child never loads the library or cdk8s-plus.
  const { App, Chart } = require('cdk8s');
  const { WireguardGateway, WireguardKey } = require('../src');
  const app = new App();
  const chart = new Chart(app, 'bench', { namespace: 'wireguard' });
  for (let g = 0; g * PER_GATEWAY < n; g++) {
    const gateway = new WireguardGateway(chart, n > PER_GATEWAY ? `gateway-${g}` : 'gateway', {
      privateKey: WireguardKey.unsafeFromBase64(SERVER_PRIVATE_KEY),
      serviceNetwork: '10.99.0.0/16',
      endpoint: 'vpn.example.com',
    });
    const first = g * PER_GATEWAY;
    const last = Math.min(n, first + PER_GATEWAY);
    const peers = [];
    for (let i = first; i < last; i++) {
      peers.push(gateway.addPeer(`peer-${i}`, { publicKey: peerKey(i), address: peerAddress(i) }));
    }
    for (let i = first; i < last; i++) {
      const r = routeInput(i);
      const allowPeers = scenario === 'paired' ? [peers[i - first]] : undefined;
      // Explicit addresses: a thousand names in one /16 would collide (addresses derived from names).
      const address = `10.99.${(i - first + 1) >> 8}.${(i - first + 1) & 255}`;
      if (r.cidrs === undefined) {
        gateway.addProxiedService(`svc-${i}`, { serviceName: `svc-${i}`, serviceNamespace: r.namespace, port: r.port, allowPeers, address });
      } else {
        gateway.addManagedDbRoute(`db-${i}`, { host: `db-${i}.example.com`, port: r.port, cidrs: r.cidrs, allowPeers, address });
      }
    }
  }
  return { app, chart };
}

/**
 * The hand-written baseline: the same objects as plain ApiObjects. The config
 * texts (ConfigMap data, its checksum) and the fixed parts of each object are
 * given; the NetworkPolicy's egress rules are built from the route list, one
 * rule per distinct destination, sorted, as a careful user would.
 */
function buildBaseline(input: BaselineInput) {
  const { ApiObject, App, Chart } = require('cdk8s');
  const app = new App();
  const chart = new Chart(app, 'bench', { namespace: 'wireguard' });
  let policies = 0;
  input.objects.forEach((o, i) => {
    if (o.kind !== 'NetworkPolicy') {
      new ApiObject(chart, `object${i}`, o);
      return;
    }
    // One NetworkPolicy per gateway, over that gateway's routes.
    const routes = input.routes.slice(policies * PER_GATEWAY, (policies + 1) * PER_GATEWAY);
    policies++;
    const rules = new Map<string, any>();
    for (const r of routes) {
      const ports = [{ protocol: 'TCP', port: r.port }];
      const rule = r.cidrs !== undefined
        ? { to: r.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports }
        : { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': r.namespace } }, podSelector: {} }], ports };
      rules.set(JSON.stringify(rule), rule);
    }
    const routeRules = [...rules.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
    new ApiObject(chart, `object${i}`, {
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: o.metadata,
      spec: { ...o.spec, egress: [o.spec.egress[0], ...routeRules] },
    });
  });
  return { app, chart };
}

// ---------------------------------------------------------------------------
// Child process: one sample, or the baseline's precomputed input.
// ---------------------------------------------------------------------------

const MiB = 1024 * 1024;

function maxRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
}

function child(args: string[]): void {
  const [mode, scenario, nText, file] = args as [string, Scenario, string, string];
  const n = Number(nText);
  // With no parent (a profiling run by hand), print the result instead.
  const send = (m: unknown) => (process.send !== undefined
    ? process.send(m, () => process.exit(0))
    : (console.log(JSON.stringify(m)), process.exit(0)));
  const t0 = process.hrtime.bigint();
  try {
    if (mode === 'precompute') {
      const { chart } = buildLibrary(scenario, n);
      const objects = chart.toJson();
      const routes = Array.from({ length: n }, (_, i) => routeInput(i));
      writeFileSync(file, JSON.stringify({ objects, routes } as BaselineInput));
      send({ ok: true });
      return;
    }
    // Load everything the measured code needs before the clock starts.
    let input: BaselineInput | undefined;
    require('cdk8s');
    if (mode === 'library') {
      require('../src');
    } else {
      input = JSON.parse(readFileSync(file, 'utf8'));
    }
    (global as any).gc();
    const startRssMiB = process.memoryUsage().rss / MiB;
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    const { app } = mode === 'library' ? buildLibrary(scenario, n) : buildBaseline(input!);
    const yaml: string = app.synthYaml();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    const sample: Sample = {
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      maxRssMiB: maxRssMiB(),
      startRssMiB,
      yamlBytes: Buffer.byteLength(yaml),
      sha256: createHash('sha256').update(yaml).digest('hex'),
    };
    send({ ok: true, sample });
  } catch (e) {
    const failure: Failure = { error: String((e as Error).message ?? e).slice(0, 400), ms: Number(process.hrtime.bigint() - t0) / 1e6, maxRssMiB: maxRssMiB() };
    send({ ok: false, failure });
  }
}

function runChild(args: string[]): Promise<{ ok: boolean; sample?: Sample; failure?: Failure }> {
  return new Promise((resolve, reject) => {
    const c = fork(__filename, ['--child', ...args], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let stderr = '';
    let reply: any;
    c.stderr!.on('data', (d) => { stderr += d; });
    c.on('message', (m) => { reply = m; });
    c.on('exit', (code, signal) => {
      if (reply !== undefined) return resolve(reply);
      // Crashed without a reply (e.g. out of memory): report it as a failure.
      const last = stderr.trim().split('\n').filter((l) => !/^\s+at /.test(l)).slice(-3).join(' | ');
      if (code === null && signal === null) return reject(new Error('child vanished'));
      resolve({ ok: false, failure: { error: `exit ${code ?? signal}: ${last}`, ms: NaN, maxRssMiB: NaN } });
    });
  });
}

// ---------------------------------------------------------------------------
// Parent: schedule samples, take medians, print ratios.
// ---------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

interface Cell {
  library?: Sample[];
  baseline?: Sample[];
  failure?: Failure;
  identical?: boolean;
}

function stat(samples: Sample[] | undefined, f: (s: Sample) => number): number {
  return samples === undefined || samples.length === 0 ? NaN : median(samples.map(f));
}

async function main() {
  const repeat = Number(process.env.BENCH_REPEAT ?? 7);
  const sizes = (process.env.BENCH_N ?? '100,1000,10000').split(',').map(Number);
  const scenarios = (process.env.BENCH_SCENARIOS ?? 'paired,all').split(',') as Scenario[];
  const tmp = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  const results: Record<string, Record<number, Cell>> = {};
  const wallStart = Date.now();

  const pkg = (name: string) => require(`${name}/package.json`).version;
  console.log('bench:synth');
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB; node ${process.version}; cdk8s ${pkg('cdk8s')}, cdk8s-plus-27 ${pkg('cdk8s-plus-27')}, constructs ${pkg('constructs')}`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine slows wall times; CPU times are less sensitive)`);
  console.log(`method: ${repeat} samples per cell, each in a fresh child process; time = App.synthYaml() incl. construction; memory = child maxRSS (whole process); medians`);

  try {
    for (const scenario of scenarios) {
      results[scenario] = {};
      for (const n of sizes) {
        const cell: Cell = {};
        results[scenario][n] = cell;
        const file = join(tmp, `${scenario}-${n}.json`);
        // The baseline's given texts come from the library's own output.
        const pre = await runChild(['precompute', scenario, String(n), file]);
        if (!pre.ok) {
          cell.failure = pre.failure;
          console.log(`${scenario} N=${n}: library FAILED after ${fmt(pre.failure!.ms / 1000)} s, peak RSS ${fmt(pre.failure!.maxRssMiB, 0)} MiB: ${pre.failure!.error}`);
          continue;
        }
        cell.library = [];
        cell.baseline = [];
        for (let i = 0; i < repeat; i++) {
          // Alternate the order so that drift on the machine hits both alike.
          const order: Impl[] = i % 2 === 0 ? ['library', 'baseline'] : ['baseline', 'library'];
          for (const impl of order) {
            const r = await runChild([impl, scenario, String(n), file]);
            if (!r.ok) throw new Error(`${impl} ${scenario} N=${n}: ${r.failure!.error}`);
            cell[impl]!.push(r.sample!);
          }
        }
        rmSync(file, { force: true });
        const hashes = new Set([...cell.library, ...cell.baseline].map((s) => s.sha256));
        cell.identical = hashes.size === 1;
        const L = cell.library;
        const B = cell.baseline;
        console.log(`${scenario} N=${n}: library ${fmt(stat(L, (s) => s.ms))} ms (CPU ${fmt(stat(L, (s) => s.cpuMs))} ms), ${fmt(stat(L, (s) => s.maxRssMiB), 0)} MiB peak` +
          ` (+${fmt(stat(L, (s) => s.maxRssMiB - s.startRssMiB), 0)} over start)` +
          ` | baseline ${fmt(stat(B, (s) => s.ms))} ms (CPU ${fmt(stat(B, (s) => s.cpuMs))} ms), ${fmt(stat(B, (s) => s.maxRssMiB), 0)} MiB peak` +
          ` (+${fmt(stat(B, (s) => s.maxRssMiB - s.startRssMiB), 0)} over start)` +
          ` | YAML ${fmt(L[0].yamlBytes / MiB, 2)} MiB, byte-identical: ${cell.identical ? 'yes' : 'NO'}` +
          ` | library samples ms: ${L.map((s) => s.ms.toFixed(0)).join(' ')}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  // --- Ratios, one per line -------------------------------------------------
  console.log('');
  console.log('ratios (medians):');
  const verdict = (x: number, target: number) => (Number.isFinite(x) ? (x <= target ? `target <= ${target}: met` : `target <= ${target}: MISSED`) : `target <= ${target}: not measurable`);
  for (const scenario of scenarios) {
    const cells = results[scenario];
    for (const n of sizes) {
      const c = cells[n];
      const t = stat(c.library, (s) => s.ms) / stat(c.baseline, (s) => s.ms);
      const tc = stat(c.library, (s) => s.cpuMs) / stat(c.baseline, (s) => s.cpuMs);
      const m = stat(c.library, (s) => s.maxRssMiB) / stat(c.baseline, (s) => s.maxRssMiB);
      const mw = stat(c.library, (s) => s.maxRssMiB - s.startRssMiB) / stat(c.baseline, (s) => s.maxRssMiB - s.startRssMiB);
      const why = c.failure !== undefined ? ` (library failed: ${c.failure.error.slice(0, 120)})` : '';
      console.log(`ratio ${scenario} N=${n} time library/baseline: ${fmt(t, 2)}${n === 1000 ? ` (${verdict(t, 1.5)})` : ''}${why}`);
      console.log(`ratio ${scenario} N=${n} CPU time library/baseline: ${fmt(tc, 2)}`);
      console.log(`ratio ${scenario} N=${n} peak RSS library/baseline: ${fmt(m, 2)}`);
      console.log(`ratio ${scenario} N=${n} peak RSS over start library/baseline: ${fmt(mw, 2)}`);
    }
    for (const n of sizes) {
      const big = cells[n * 10];
      if (big === undefined) continue;
      const small = cells[n];
      for (const impl of ['library', 'baseline'] as Impl[]) {
        const g = stat(big[impl], (s) => s.ms) / stat(small[impl], (s) => s.ms);
        const gm = stat(big[impl], (s) => s.maxRssMiB - s.startRssMiB) / stat(small[impl], (s) => s.maxRssMiB - s.startRssMiB);
        const target = impl === 'library' && n === 1000 ? ` (${verdict(g, 11)})` : '';
        const gc = stat(big[impl], (s) => s.cpuMs) / stat(small[impl], (s) => s.cpuMs);
        console.log(`ratio ${scenario} ${impl} growth N=${n}->${n * 10} time: ${fmt(g, 2)}${target}`);
        console.log(`ratio ${scenario} ${impl} growth N=${n}->${n * 10} CPU time: ${fmt(gc, 2)}`);
        console.log(`ratio ${scenario} ${impl} growth N=${n}->${n * 10} peak RSS over start: ${fmt(gm, 2)}`);
      }
    }
  }
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`bench:synth wall time: ${fmt((Date.now() - wallStart) / 1000)} s`);

  const outDir = join(__dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'synth.json');
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), repeat, sizes, results }, null, 2));
  console.log(`raw samples: ${out}`);
}

if (process.argv[2] === '--child') {
  child(process.argv.slice(3));
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
