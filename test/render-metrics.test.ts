/**
 * The metrics renderers, run for real: metrics.sh under busybox sh with a
 * stand-in `wg` and /proc/net/tcp, its output checked by real `promtool check
 * metrics`; the sessions log counted exactly through rotations; and nginx (as
 * uid 101, started by start-nginx.sh) serving /metrics on the pod's address,
 * refusing peers, and rotating the sessions log on SIGUSR1.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gatewaySpec, routeSpec } from './spec-fixtures';
import { STREAM_MODULE, nginxTest } from './util';
import { PeerSpec } from '../src/_model';
import { promLabelValue, renderMetricsScript } from '../src/_render-metrics';
import { metricsHttpLines, metricsStartLines } from '../src/_render-metrics-lines';
import { renderNginxConf, renderStartNginx } from '../src/_render-nginx';

const LAPTOP = 'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=';
const CI = 'EB5xHzgfEurr+uMtmFI7B9kCSpjGcTn1oIej2pdCdx0=';
const peer = (name: string, publicKey: string, address: string): PeerSpec => ({ name, path: `app/gw/${name}`, publicKey, address });
const spec = (over = {}) => gatewaySpec({
  metrics: { port: 9586, refreshSeconds: 5, version: '1.2.3' },
  routes: [routeSpec(), routeSpec({ name: 'redis', address: '10.99.0.2', listenPort: 6379, targetHost: 'redis.cache.svc.cluster.local', targetPort: 6379 })],
  peers: [peer('laptop', LAPTOP, '10.98.0.2'), peer('ci "runner"\\1\n', CI, '10.98.0.3')],
  ...over,
});

/** busybox's applets first in PATH, as in the Alpine images. */
function busyboxPath(dir: string): string {
  mkdirSync(join(dir, 'bb'), { recursive: true });
  const busybox = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf-8' }).trim();
  for (const a of ['sh', 'awk', 'sed', 'grep', 'head', 'tail', 'sort', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'cut', 'wc', 'ls', 'date', 'timeout', 'touch']) {
    if (!existsSync(join(dir, 'bb', a))) symlinkSync(busybox, join(dir, 'bb', a));
  }
  return join(dir, 'bb');
}

/** A pod's directories for metrics.sh, a stand-in wg (its answers are files) and /proc/net/tcp. */
class Pod {
  /** A sample's value (labels as printed, in order), or undefined. */
  public static value(out: string, sample: string): string | undefined {
    return out.split('\n').find((l) => l.startsWith(`${sample} `))?.slice(sample.length + 1);
  }

  public readonly dir = mkdtempSync(join(tmpdir(), 'wggw-metrics-'));
  constructor(script: string) {
    for (const d of ['bin', 'agent/good', 'state', 'config/..g1', 'wg']) mkdirSync(join(this.dir, d), { recursive: true });
    writeFileSync(join(this.dir, 'agent/good/metrics.sh'), script);
    writeFileSync(join(this.dir, 'agent/good/config-id'), 'aaaaaaaaaaaaaaaa0000\n');
    writeFileSync(join(this.dir, 'config/..g1/config-id'), 'aaaaaaaaaaaaaaaa0000\n');
    symlinkSync('..g1', join(this.dir, 'config/..data'));
    symlinkSync('..data/config-id', join(this.dir, 'config/config-id'));
    writeFileSync(join(this.dir, 'bin/wg'), '#!/bin/sh\n[ "$1 $2" = "show wg0" ] || exit 2\ncat "$WG_STUB/$3"\n', { mode: 0o755 });
    this.wg({ 'transfer': '', 'latest-handshakes': '', 'allowed-ips': '' });
    this.tcp([]);
  }
  public wg(files: Record<string, string>): void {
    for (const [f, text] of Object.entries(files)) writeFileSync(join(this.dir, 'wg', f), text);
  }
  /** /proc/net/tcp with these sockets: [local "a.b.c.d:port", state hex]. Little-endian, as on x86. */
  public tcp(sockets: Array<[string, string]>): void {
    const hex = (ap: string) => {
      const [a, p] = ap.split(':');
      return a.split('.').reverse().map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).join('') + ':'
        + Number(p).toString(16).toUpperCase().padStart(4, '0');
    };
    writeFileSync(join(this.dir, 'tcp'), [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      ...sockets.map(([l, st], i) => `   ${i}: ${hex(l)} 0200620A:D431 ${st} 00000000:00000000 00:00000000 00000000   101        0 ${i}`),
    ].join('\n') + '\n');
  }
  public run(extraPath = ''): { out: string; status: number | null; stderr: string } {
    const r = spawnSync('busybox', ['sh', join(this.dir, 'agent/good/metrics.sh')], {
      encoding: 'utf-8',
      env: {
        PATH: `${extraPath}${join(this.dir, 'bin')}:${busyboxPath(this.dir)}:${process.env.PATH}`,
        WG_STUB: join(this.dir, 'wg'),
        CONFIG_DIR: join(this.dir, 'config'),
        STATE_DIR: join(this.dir, 'state'),
        AGENT_DIR: join(this.dir, 'agent'),
        PROC_NET_TCP: join(this.dir, 'tcp'),
      },
    });
    return { out: r.stdout, status: r.status, stderr: r.stderr };
  }
}

function promtool(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf-8' });
  if (r.status !== 0) throw new Error(`promtool check metrics (exit ${r.status}): ${r.stdout}${r.stderr}\n--- metrics ---\n${text}`);
  return r.stdout + r.stderr;
}

describe('promLabelValue', () => {
  test('escapes backslash, double quote and line feed; other control characters become "_"', () => {
    expect(promLabelValue('a\\b"c\nd\te\x01')).toBe('a\\\\b\\"c\\nd_e_');
    expect(promLabelValue('laptop (Ana)')).toBe('laptop (Ana)');
  });
});

describe('renderMetricsScript', () => {
  test.each([['sh'], ['busybox', 'sh']])('is valid sh (%s)', (...shell) => {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-sh-'));
    writeFileSync(join(dir, 'm.sh'), renderMetricsScript(spec()));
    execFileSync(shell[0], [...shell.slice(1), '-n', join(dir, 'm.sh')]);
  });

  test('never asks wg for the private key, and reads wg show, not dump', () => {
    const script = renderMetricsScript(spec());
    expect(script).not.toMatch(/private-key|dump|showconf/);
    expect(script).toContain('wg show "$WG_IF" transfer');
  });

  test('a route or peer name cannot end its table or reach the shell: tables are quoted here-documents of label values', () => {
    const script = renderMetricsScript(spec({ peers: [peer('x\nPEERS\n$(reboot)', LAPTOP, '10.98.0.2')] }));
    expect(script).toContain(`${LAPTOP}\tx\\nPEERS\\n$(reboot)\n`);
    expect(script.match(/^PEERS$/gm)).toHaveLength(1);
  });

  test('prints every metric family; real promtool check metrics accepts it; the values are what wg, /proc and the agent say', () => {
    // GIVEN a pod with two peers (one never connected), sessions on both routes, and the agent's counts
    const pod = new Pod(renderMetricsScript(spec()));
    pod.wg({
      'transfer': `${LAPTOP}\t1000\t2000\n${CI}\t0\t0\n`,
      'latest-handshakes': `${LAPTOP}\t1700000000\n${CI}\t0\n`,
      'allowed-ips': `${LAPTOP}\t10.98.0.2/32\n${CI}\t10.98.0.3/32 10.98.1.0/24\n`,
    });
    pod.tcp([['10.99.0.1:5432', '0A'], ['10.99.0.1:5432', '01'], ['10.99.0.1:5432', '01'], ['10.99.0.1:5432', '06'], ['10.99.0.2:6379', '01'], ['10.244.0.2:40000', '01']]);
    writeFileSync(join(pod.dir, 'agent/reloads'), '3 1 2 1700000100\n');
    // WHEN it runs
    const r = pod.run();
    // THEN
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(promtool(r.out)).toBe('');
    const laptop = `{interface="wg0",public_key="${LAPTOP}",allowed_ips="10.98.0.2/32",friendly_name="laptop"}`;
    const ci = `{interface="wg0",public_key="${CI}",allowed_ips="10.98.0.3/32,10.98.1.0/24",friendly_name="ci \\"runner\\"\\\\1\\n"}`;
    expect(Pod.value(r.out, `wireguard_sent_bytes_total${laptop}`)).toBe('2000');
    expect(Pod.value(r.out, `wireguard_received_bytes_total${laptop}`)).toBe('1000');
    expect(Pod.value(r.out, `wireguard_latest_handshake_seconds${laptop}`)).toBe('1700000000');
    expect(Pod.value(r.out, `wireguard_latest_handshake_seconds${ci}`)).toBe('0');
    expect(Pod.value(r.out, 'wireguard_gateway_route_sessions{route="pg",address="10.99.0.1",port="5432"}')).toBe('2');
    expect(Pod.value(r.out, 'wireguard_gateway_route_sessions{route="redis",address="10.99.0.2",port="6379"}')).toBe('1');
    expect(Pod.value(r.out, 'wireguard_gateway_info{version="1.2.3",config_id="aaaaaaaaaaaaaaaa"}')).toBe('1');
    expect(Pod.value(r.out, 'wireguard_gateway_config_up_to_date')).toBe('1');
    expect(Pod.value(r.out, 'wireguard_gateway_config_reloads_total{result="applied"}')).toBe('3');
    expect(Pod.value(r.out, 'wireguard_gateway_config_reloads_total{result="rejected"}')).toBe('1');
    expect(Pod.value(r.out, 'wireguard_gateway_config_reloads_total{result="failed"}')).toBe('2');
    expect(Pod.value(r.out, 'wireguard_gateway_config_last_applied_timestamp_seconds')).toBe('1700000100');
    // Every route starts with 0 sessions ended for 200, 403 and 502, so that increase() sees the first.
    expect(Pod.value(r.out, 'wireguard_gateway_route_sessions_ended_total{route="pg",address="10.99.0.1",port="5432",status="403"}')).toBe('0');
    expect(Math.abs(Number(Pod.value(r.out, 'wireguard_gateway_metrics_updated_timestamp_seconds')) - Date.now() / 1000)).toBeLessThan(5);
  });

  test('uses the names, types, help texts and label order of prometheus_wireguard_exporter for the peers', () => {
    const pod = new Pod(renderMetricsScript(spec()));
    pod.wg({ 'transfer': `${LAPTOP}\t1\t2\n`, 'latest-handshakes': `${LAPTOP}\t3\n`, 'allowed-ips': `${LAPTOP}\t10.98.0.2/32\n` });
    const out = pod.run().out;
    expect(out).toContain([
      '# HELP wireguard_sent_bytes_total Bytes sent to the peer',
      '# TYPE wireguard_sent_bytes_total counter',
      `wireguard_sent_bytes_total{interface="wg0",public_key="${LAPTOP}",allowed_ips="10.98.0.2/32",friendly_name="laptop"} 2`,
      '# HELP wireguard_received_bytes_total Bytes received from the peer',
      '# TYPE wireguard_received_bytes_total counter',
      `wireguard_received_bytes_total{interface="wg0",public_key="${LAPTOP}",allowed_ips="10.98.0.2/32",friendly_name="laptop"} 1`,
      '# HELP wireguard_latest_handshake_seconds Seconds from the last handshake',
      '# TYPE wireguard_latest_handshake_seconds gauge',
      `wireguard_latest_handshake_seconds{interface="wg0",public_key="${LAPTOP}",allowed_ips="10.98.0.2/32",friendly_name="laptop"} 3`,
    ].join('\n'));
  });

  test('a configuration mounted but not applied: up_to_date 0, and the info metric names the one served', () => {
    const pod = new Pod(renderMetricsScript(spec()));
    writeFileSync(join(pod.dir, 'config/..g1/config-id'), 'bbbbbbbbbbbbbbbb0000\n');
    const out = pod.run().out;
    expect(Pod.value(out, 'wireguard_gateway_config_up_to_date')).toBe('0');
    expect(Pod.value(out, 'wireguard_gateway_info{version="1.2.3",config_id="aaaaaaaaaaaaaaaa"}')).toBe('1');
  });

  test('fails, saying why, when wg cannot read the interface (the agent then keeps the last file)', () => {
    const pod = new Pod(renderMetricsScript(spec()));
    writeFileSync(join(pod.dir, 'bin/wg'), '#!/bin/sh\necho "Unable to access interface: No such device" >&2; exit 1\n', { mode: 0o755 });
    const r = pod.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\nmetrics: wg show wg0 transfer failed\n$/);
  });

  describe('sessions ended (nginx\'s sessions log)', () => {
    const sample = (route: string, status: string) => route === 'pg'
      ? `wireguard_gateway_route_sessions_ended_total{route="pg",address="10.99.0.1",port="5432",status="${status}"}`
      : `wireguard_gateway_route_sessions_ended_total{route="redis",address="10.99.0.2",port="6379",status="${status}"}`;

    test('counts complete lines once, by route and status, and a partial line when it completes', () => {
      const pod = new Pod(renderMetricsScript(spec()));
      const log = join(pod.dir, 'state/sessions.log');
      writeFileSync(log, '10.99.0.1:5432 200\n10.99.0.1:5432 200\n10.99.0.2:6379 403\n10.99.0.1:5432 5');
      let out = pod.run().out;
      expect(Pod.value(out, sample('pg', '200'))).toBe('2');
      expect(Pod.value(out, sample('redis', '403'))).toBe('1');
      expect(Pod.value(out, sample('pg', '502'))).toBe('0');
      appendFileSync(log, '02\n10.99.0.9:80 200\ngarbage\n');
      out = pod.run().out;
      expect(Pod.value(out, sample('pg', '502'))).toBe('1');
      expect(Pod.value(out, sample('pg', '200'))).toBe('2');
      expect(out).not.toContain('10.99.0.9');
      expect(promtool(out)).toBe('');
    });

    test('counts exactly through rotations: an unsealed .old is read as it grows, a sealed one finished and deleted', () => {
      // GIVEN a sessions log that start-nginx.sh rotates now and then, and lines that keep coming
      const pod = new Pod(renderMetricsScript(spec()));
      const log = join(pod.dir, 'state/sessions.log');
      let written = 0;
      const write = (file: string, n: number) => {
        appendFileSync(file, '10.99.0.2:6379 200\n'.repeat(n));
        written += n;
      };
      const count = () => Number(Pod.value(pod.run().out, sample('redis', '200')));
      // WHEN lines come, the log rotates (nginx still writes to .old a moment), and metrics.sh runs in between
      write(log, 5);
      expect(count()).toBe(5);
      for (let round = 0; round < 4; round++) {
        write(log, 3 + round);
        execFileSync('mv', [log, `${log}.old`]);
        expect(count()).toBe(written); // .old read, not deleted: nginx may still write to it
        write(`${log}.old`, 2); // a worker that had not reopened yet
        write(log, 1); // the reopened log
        expect(count()).toBe(written - 1); // the new log waits until .old is done
        expect(existsSync(`${log}.old`)).toBe(true);
        const past = Date.now() / 1000 - 10;
        utimesSync(`${log}.old`, past, past); // sealed: no write for 10 s
        // THEN every line is counted once, .old is gone
        expect(count()).toBe(written);
        expect(existsSync(`${log}.old`)).toBe(false);
      }
      expect(count()).toBe(written);
    });
  });

  describe('target resolves', () => {
    test('1 for a name getent resolves, 0 for one it does not; refreshed in the background', async () => {
      const pod = new Pod(renderMetricsScript(spec()));
      writeFileSync(join(pod.dir, 'bin/getent'), '#!/bin/sh\n[ "$2" = "pg.db.svc.cluster.local." ]\n', { mode: 0o755 });
      pod.run(); // starts the check
      const deadline = Date.now() + 5000;
      while (!existsSync(join(pod.dir, 'agent/resolves')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const out = pod.run().out;
      expect(Pod.value(out, 'wireguard_gateway_route_target_resolves{route="pg",address="10.99.0.1",port="5432",target="pg.db.svc.cluster.local"}')).toBe('1');
      expect(Pod.value(out, 'wireguard_gateway_route_target_resolves{route="redis",address="10.99.0.2",port="6379",target="redis.cache.svc.cluster.local"}')).toBe('0');
      expect(promtool(out)).toBe('');
    });

    test('left out when the image has no getent', () => {
      const pod = new Pod(renderMetricsScript(spec()));
      const script = join(pod.dir, 'agent/good/metrics.sh');
      writeFileSync(script, readFileSync(script, 'utf-8').replace('command -v getent', 'command -v no-getent-here'));
      const out = pod.run().out;
      expect(out).not.toContain('target_resolves');
      expect(existsSync(join(pod.dir, 'agent/resolves.lock'))).toBe(false);
    });
  });
});

describe('nginx.conf and start-nginx.sh with metrics', () => {
  test('the http server listens on the pod address only (an include), refuses every peer, serves one file', () => {
    const lines = metricsHttpLines(spec()).map((l) => l.trim());
    expect(lines.filter((l) => l.startsWith('listen'))).toEqual([]);
    expect(lines).toContain('include /tmp/nginx/metrics-listen.conf; # listen <pod IP>:9586; written by start-nginx.sh');
    expect(lines.filter((l) => l.startsWith('deny '))).toEqual(['deny 10.98.0.2; # laptop', 'deny 10.98.0.3; # ci__runner__1_']);
    expect(lines).toContain('alias /run/wireguard-gateway/metrics.prom;');
    expect(renderNginxConf(spec())).toContain('  access_log /run/wireguard-gateway/sessions.log sessions;\n');
  });

  test('without metrics nothing of it is rendered', () => {
    const off = gatewaySpec();
    expect(renderNginxConf(off)).not.toMatch(/http \{|sessions/);
    expect(renderStartNginx(off)).not.toMatch(/POD_IP|rotate_sessions/);
  });

  test('passes real nginx -t', () => {
    expect(nginxTest(renderNginxConf(spec()))).toContain('test is successful');
  });

  test.each([
    ['10.244.0.2', 0, 'listen 10.244.0.2:9586;\n'],
    ['fd00::1:2', 0, 'listen [fd00::1:2]:9586;\n'],
    ['', 1, undefined],
    ['10.244.0.2;include /etc/passwd', 1, undefined],
  ])('start-nginx.sh with POD_IP=%j exits %d and writes %j', (podIp, status, written) => {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-podip-'));
    const script = ['log() { echo "start-nginx: $*" >&2; }', ...metricsStartLines(spec())].join('\n').split('/tmp/nginx/').join(`${dir}/`);
    writeFileSync(join(dir, 's.sh'), script + '\n');
    const r = spawnSync('busybox', ['sh', join(dir, 's.sh')], { env: { POD_IP: podIp }, encoding: 'utf-8' });
    expect(r.status).toBe(status);
    expect(existsSync(join(dir, 'metrics-listen.conf')) ? readFileSync(join(dir, 'metrics-listen.conf'), 'utf-8') : undefined).toBe(written);
    if (status !== 0) expect(r.stderr).toContain('not an IP address: the Deployment sets it from the pod\'s status.podIP');
  });
});

describe('nginx with metrics (as uid 101, started by start-nginx.sh): /metrics, peers refused, sessions log rotated', () => {
  const n = process.pid % 100000;
  const ns = `wggwm${n}`;
  let dir: string;
  let supervisor: ChildProcess | undefined;
  let stderr = '';
  const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf-8' });
  const until = async (what: string, ok: () => boolean, ms = 8000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; start-nginx.sh said:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** GET from inside the namespace, from `source`: "status content-type". */
  const get = (path: string, source?: string) => inNs('node', '-e', `require('http').get({ host: '10.244.0.2', port: 9586, path: '${path}'${source ? `, localAddress: '${source}'` : ''} },
    (r) => { console.log(r.statusCode + ' ' + r.headers['content-type']); r.resume(); })`).trim();
  /** N sessions to route pg, one after another; its target refuses, so each ends at once with 502. */
  const sessions = (count: number) => inNs('node', '-e', `(async () => { for (let i = 0; i < ${count}; i++) await new Promise((ok) => {
    const s = require('net').connect(5432, '10.99.0.1'); s.on('close', ok); s.on('error', () => {}); }); })()`);
  const state = (f: string) => join(dir, 'state', f);
  const lines = (f: string) => (existsSync(state(f)) ? readFileSync(state(f), 'utf-8').split('\n').filter(Boolean).length : 0);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wggw-metrics-nginx-'));
    chmodSync(dir, 0o755);
    for (const d of ['config', 'config/..g1', 'run', 'state']) mkdirSync(join(dir, d), { mode: 0o777 });
    for (const d of ['run', 'state']) chmodSync(join(dir, d), 0o777);
    execFileSync('ip', ['netns', 'add', ns]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    // The route's address, the pod's address, and a peer's tunnel address (as if it came through wg0).
    for (const a of ['10.99.0.1', '10.244.0.2', '10.98.0.2']) inNs('ip', 'address', 'add', `${a}/32`, 'dev', 'lo');
  });

  afterAll(() => {
    supervisor?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf-8' }).stdout.split('\n').filter(Boolean).forEach((p) => {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    });
    spawnSync('ip', ['netns', 'delete', ns]);
  });

  test('serves the agent\'s file to the cluster, 403 to a peer; rotates the sessions log for the agent; empties it when the agent does not read', async () => {
    // GIVEN nginx with metrics, a route whose target refuses, the rotation at 200 bytes and the drop at 1000
    const s = spec({
      resolver: { addresses: ['127.0.0.1'], validSeconds: 5, timeoutSeconds: 2, ipv6: false },
      routes: [routeSpec({ targetHost: '127.0.0.1', targetPort: 1 })],
    });
    const adapt = (text: string) => text.split('/tmp/nginx/').join(`${dir}/run/`).split('/run/wireguard-gateway/').join(`${dir}/state/`);
    writeFileSync(join(dir, 'config/..g1/nginx.conf'), `load_module ${STREAM_MODULE};\n${adapt(renderNginxConf(s))}`);
    symlinkSync('..g1', join(dir, 'config/..data'));
    writeFileSync(join(dir, 'start-nginx.sh'), adapt(renderStartNginx(s)).replace('RUN_DIR="/tmp/nginx"', `RUN_DIR="${dir}/run"`));
    const stdout = openSync(join(dir, 'stdout'), 'w');
    chownSync(join(dir, 'stdout'), 101, 101);
    supervisor = spawn('ip', ['netns', 'exec', ns, 'setpriv', '--reuid=101', '--regid=101', '--clear-groups', '--no-new-privs',
      'busybox', 'sh', join(dir, 'start-nginx.sh')], {
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        CONFIG_DIR: join(dir, 'config'),
        STATE_DIR: join(dir, 'state'),
        POD_IP: '10.244.0.2',
        SESSIONS_LOG_ROTATE_BYTES: '200',
        SESSIONS_LOG_DROP_BYTES: '1000',
      },
      stdio: ['ignore', stdout, 'pipe'],
    });
    supervisor.stderr!.on('data', (d) => { stderr += d; });
    await until('nginx to listen on the route and the metrics port', () => {
      const l = inNs('ss', '-Hltn');
      return l.includes('10.99.0.1:5432') && l.includes('10.244.0.2:9586');
    });

    // THEN /metrics: 404 until the agent writes it, then the file with the text format's type
    expect(get('/metrics')).toBe('404 text/html');
    writeFileSync(state('metrics.prom'), '# HELP x y\n# TYPE x gauge\nx 1\n');
    expect(get('/metrics')).toBe('200 text/plain; version=0.0.4; charset=utf-8');
    expect(get('/sessions.log')).toBe('404 text/html');
    // AND a peer's tunnel address is refused
    expect(get('/metrics', '10.98.0.2')).toBe('403 text/html');

    // WHEN sessions end: one line each; past 200 bytes the log is renamed and nginx reopens it
    sessions(12);
    await until('the rotation', () => existsSync(state('sessions.log.old')));
    expect(stderr).toMatch(/start-nginx: rotated the sessions log at \d+ bytes/);
    sessions(3);
    // (The rename may fall between two of the first 12 sessions: what counts is that none is lost.)
    await until('the reopened log', () => lines('sessions.log.old') + lines('sessions.log') === 15 && lines('sessions.log') >= 3);
    expect(readFileSync(state('sessions.log'), 'utf-8')).toBe('10.99.0.1:5432 502\n'.repeat(lines('sessions.log')));

    // AND the agent's side counts every one of them once .old is sealed (no write for a while)
    const past = Date.now() / 1000 - 10;
    utimesSync(state('sessions.log.old'), past, past);
    const pod = new Pod(renderMetricsScript(s));
    const r = spawnSync('busybox', ['sh', join(pod.dir, 'agent/good/metrics.sh')], {
      encoding: 'utf-8',
      env: {
        PATH: `${join(pod.dir, 'bin')}:${busyboxPath(pod.dir)}:${process.env.PATH}`,
        WG_STUB: join(pod.dir, 'wg'),
        CONFIG_DIR: join(pod.dir, 'config'),
        STATE_DIR: join(dir, 'state'),
        AGENT_DIR: join(pod.dir, 'agent'),
        PROC_NET_TCP: join(pod.dir, 'tcp'),
      },
    });
    expect(Pod.value(r.stdout, 'wireguard_gateway_route_sessions_ended_total{route="pg",address="10.99.0.1",port="5432",status="502"}')).toBe('15');
    expect(existsSync(state('sessions.log.old'))).toBe(false);

    // WHEN the agent no longer reads: the log rotates once more, then passes 1000 bytes
    sessions(30);
    await until('the second rotation', () => existsSync(state('sessions.log.old')));
    sessions(80);
    // THEN it is emptied (the emptyDir stays bounded), and start-nginx.sh says so
    await until('the log to be emptied', () => /start-nginx: emptied .*sessions\.log \(\d+ bytes\): the agent has not read/.test(stderr));
    expect(lines('sessions.log.old')).toBeGreaterThan(0);
    expect(lines('sessions.log')).toBeLessThan(80);
  }, 60_000);
});
