/**
 * System tier: assets/metrics.sh under busybox sh and dash with every output
 * checked by the real `promtool check metrics`; and nginx (as uid 101, started
 * by start-nginx.sh) serving /metrics on the pod's address, and rotating the
 * sessions log that metrics.sh counts (peers are kept from /metrics by the
 * pod's packet filter: test/init-sh.system.test.ts, and the e2e suite).
 */
import { spawnSync } from 'child_process';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'fs';
import { MetricsPod, metricsShCases, metricsSpec, value } from './script-cases/metrics-sh';
import { configFiles, mountGeneration } from './script-cases/pod-config';
import { routeSpec } from './spec-fixtures';
import { until } from './stand-ins';
import { DASH, NginxContainer, adaptNginxConf, busyboxShell } from './system-util';
import { renderNginxConf } from '../src/_render-nginx';

function promtool(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf-8' });
  if (r.status !== 0 || r.stdout + r.stderr !== '') throw new Error(`promtool check metrics (exit ${r.status}): ${r.stdout}${r.stderr}\n--- metrics ---\n${text}`);
}

describe.each([busyboxShell(), DASH])('metrics.sh ($name, stand-ins, promtool)', (shell) => {
  metricsShCases(shell, promtool);
});

describe('nginx with metrics (as uid 101, started by start-nginx.sh): /metrics, sessions log rotated', () => {
  let c: NginxContainer;
  /** GET from inside the namespace, from `source`: "status content-type". */
  const get = (path: string, source?: string) => c.inNs('node', '-e', `require('http').get({ host: '10.244.0.2', port: 9586, path: '${path}'${source ? `, localAddress: '${source}'` : ''} },
    (r) => { console.log(r.statusCode + ' ' + r.headers['content-type']); r.resume(); })`).trim();
  /** N sessions to route pg, one after another; its target refuses, so each ends at once with 502. */
  const sessions = (count: number) => c.inNs('node', '-e', `(async () => { for (let i = 0; i < ${count}; i++) await new Promise((ok) => {
    const s = require('net').connect(5432, '10.99.0.1'); s.on('close', ok); s.on('error', () => {}); }); })()`);
  const nginxOut = (f: string) => c.path('share', 'nginx-out', f);
  const lines = (f: string) => (existsSync(nginxOut(f)) ? readFileSync(nginxOut(f), 'utf-8').split('\n').filter(Boolean).length : 0);
  const renamed = () => readdirSync(c.path('share', 'nginx-out')).filter((f) => /^sessions\..+\.log$/.test(f));

  // The route's address and the pod's address.
  beforeAll(() => { c = new NginxContainer(['10.99.0.1', '10.244.0.2']); });
  afterAll(() => c.close());

  test('serves the agent\'s file; rotates the sessions log for the agent, deletes it once counted; empties it when the agent does not count', async () => {
    // GIVEN nginx with metrics, a route whose target refuses, the rotation at 200 bytes and the drop at 1000
    const s = metricsSpec({
      resolver: { addresses: ['127.0.0.1'], validSeconds: 5, timeoutSeconds: 2, ipv6: false },
      routes: [routeSpec({ targetHost: '127.0.0.1', targetPort: 1 })],
    });
    mountGeneration(c.path('config'), '..g1', {
      ...configFiles(s),
      'nginx.conf': adaptNginxConf(renderNginxConf(s), c.path('run'), c.path('share')),
    });
    void c.start({ POD_IP: '10.244.0.2', SESSIONS_LOG_ROTATE_BYTES: '200', SESSIONS_LOG_DROP_BYTES: '1000' });
    await until('nginx to listen on the route and the metrics port', () => {
      const l = c.inNs('ss', '-Hltn');
      return l.includes('10.99.0.1:5432') && l.includes('10.244.0.2:9586');
    }, () => c.stderr);
    // THEN /metrics: 404 until the agent writes it, then the file with the text format's type
    expect(get('/metrics')).toBe('404 text/html');
    writeFileSync(c.path('share', 'agent-out', 'metrics.prom'), '# HELP x y\n# TYPE x gauge\nx 1\n');
    expect(get('/metrics')).toBe('200 text/plain; version=0.0.4; charset=utf-8');
    expect(get('/sessions.log')).toBe('404 text/html');

    // WHEN sessions end: one line each; past 200 bytes the log is renamed and nginx reopens it
    sessions(12);
    // (start-nginx.sh logs the rotation after the rename and nginx's reopen: wait for the line.)
    await until('the rotation', () => renamed().length === 1 && /start-nginx: rotated the sessions log at \d+ bytes/.test(c.stderr), () => c.stderr);
    const first = renamed()[0];
    sessions(3);
    // (The rename may fall between two of the first 12 sessions: what counts is that none is lost.)
    await until('the reopened log', () => lines(first) + lines('sessions.log') === 15 && lines('sessions.log') >= 3, () => c.stderr);
    expect(readFileSync(nginxOut('sessions.log'), 'utf-8')).toBe('10.99.0.1:5432 502\n'.repeat(lines('sessions.log')));

    // AND the agent's side counts every one of them once the renamed log is sealed (no write for a while),
    // and notes it; start-nginx.sh then deletes it (nginx's volume is read-only for the agent)
    const past = Date.now() / 1000 - 10;
    utimesSync(nginxOut(first), past, past);
    const pod = new MetricsPod(busyboxShell(), s, c.path('share', 'nginx-out'), c.path('share', 'agent-out'));
    const r = pod.run();
    expect(r.stderr).toBe('');
    expect(value(r.stdout, 'wireguard_gateway_route_sessions_ended_total{route="pg",address="10.99.0.1",port="5432",status="502"}')).toBe('15');
    promtool(r.stdout);
    await until('start-nginx.sh to delete the counted log', () => !existsSync(nginxOut(first)), () => c.stderr);

    // WHEN the agent no longer counts: the log rotates once more, then passes 1000 bytes
    sessions(30);
    await until('the second rotation', () => renamed().length === 1, () => c.stderr);
    sessions(80);
    // THEN it is emptied (the emptyDir stays bounded), and start-nginx.sh says so
    await until('the log to be emptied', () => /start-nginx: emptied .*sessions\.log \(\d+ bytes\): the agent has not counted/.test(c.stderr), () => c.stderr);
    expect(lines(renamed()[0])).toBeGreaterThan(0);
    expect(lines('sessions.log')).toBeLessThan(80);
  }, 60_000);
});
