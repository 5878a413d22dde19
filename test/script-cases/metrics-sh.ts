/**
 * metrics.sh's output, with a stand-in `wg` (its answers are files) and a fake
 * /proc/net/tcp, from the data files of an applied configuration: every
 * metric family and value, the sessions log counted exactly through
 * rotations, and the targets' resolution. The unit tier runs these cases
 * under the host's sh; the system tier under busybox sh and dash, with every
 * output checked by the real `promtool check metrics` (`check`).
 */
import { execFileSync } from 'child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import { join } from 'path';
import { writeConfig } from './pod-config';
import { GatewaySpec, PeerSpec } from '../../src/_model';
import { gatewaySpec, routeSpec } from '../spec-fixtures';
import { FakePod, Run, Shell, until } from '../stand-ins';

export const LAPTOP = 'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=';
export const CI = 'EB5xHzgfEurr+uMtmFI7B9kCSpjGcTn1oIej2pdCdx0=';
const peer = (name: string, publicKey: string, address: string): PeerSpec => ({ name, path: `app/gw/${name}`, publicKey, address });

export const metricsSpec = (over: Partial<GatewaySpec> = {}): GatewaySpec => gatewaySpec({
  metrics: { port: 9586, refreshSeconds: 5, version: '1.2.3' },
  routes: [routeSpec(), routeSpec({ name: 'redis', address: '10.99.0.2', listenPort: 6379, targetHost: 'redis.cache.svc.cluster.local', targetPort: 6379 })],
  peers: [peer('laptop', LAPTOP, '10.98.0.2'), peer('ci "runner"\\1\n', CI, '10.98.0.3')],
  ...over,
});

/** A sample's value (labels as printed, in order), or undefined. */
export function value(out: string, sample: string): string | undefined {
  return out.split('\n').find((l) => l.startsWith(`${sample} `))?.slice(sample.length + 1);
}

/** An agent's directories: the applied configuration (agent/good), the mounted one, nginx's and the agent's outputs. */
export class MetricsPod {
  public readonly pod = new FakePod();
  /** Where nginx writes its sessions log (read-only for the agent in a pod). */
  public readonly nginxOut: string;
  /** Where the agent writes for nginx (the note of the renamed log it counted). */
  public readonly agentOut: string;

  constructor(private readonly shell: Shell, s: GatewaySpec = metricsSpec(), nginxOut?: string, agentOut?: string) {
    writeConfig(this.path('agent/good'), s, { 'config-id': 'aaaaaaaaaaaaaaaa0000\n' });
    mkdirSync(this.path('config/..g1'), { recursive: true });
    writeFileSync(this.path('config/..g1/config-id'), 'aaaaaaaaaaaaaaaa0000\n');
    symlinkSync('..g1', this.path('config/..data'));
    symlinkSync('..data/config-id', this.path('config/config-id'));
    mkdirSync(this.path('nginx-out'));
    mkdirSync(this.path('agent-out'));
    this.nginxOut = nginxOut ?? this.path('nginx-out');
    this.agentOut = agentOut ?? this.path('agent-out');
    this.wg({ 'transfer': '', 'latest-handshakes': '', 'allowed-ips': '' });
  }

  public path(p: string): string {
    return join(this.pod.dir, p);
  }

  public wg(files: Record<string, string>): void {
    for (const [f, text] of Object.entries(files)) this.pod.write(`wg-${f}`, text);
  }

  /** Runs metrics.sh; without a GETENT of the test's, no getent (no DNS query leaves the test). */
  public run(env: Record<string, string> = {}): Run {
    return this.pod.run('metrics.sh', [], {
      CONFIG_DIR: this.path('config'), NGINX_OUT: this.nginxOut, AGENT_OUT: this.agentOut, AGENT_DIR: this.path('agent'), GETENT: 'no-getent-in-this-test', ...env,
    }, this.shell);
  }
}

/** `check(out)` checks a whole output (the system tier: promtool); the unit tier passes a no-op. */
export function metricsShCases(shell: Shell, check: (out: string) => void = () => undefined): void {
  const sample = (route: string, status: string) => route === 'pg'
    ? `wireguard_gateway_route_sessions_ended_total{route="pg",address="10.99.0.1",port="5432",status="${status}"}`
    : `wireguard_gateway_route_sessions_ended_total{route="redis",address="10.99.0.2",port="6379",status="${status}"}`;

  test('prints every metric family; the values are what wg, /proc and the agent say', () => {
    // GIVEN a pod with two peers (one never connected), sessions on both routes, and the agent's counts
    const pod = new MetricsPod(shell);
    pod.wg({
      'transfer': `${LAPTOP}\t1000\t2000\n${CI}\t0\t0\n`,
      'latest-handshakes': `${LAPTOP}\t1700000000\n${CI}\t0\n`,
      'allowed-ips': `${LAPTOP}\t10.98.0.2/32\n${CI}\t10.98.0.3/32 10.98.1.0/24\n`,
    });
    pod.pod.tcp([['10.99.0.1:5432', '0A'], ['10.99.0.1:5432', '01'], ['10.99.0.1:5432', '01'], ['10.99.0.1:5432', '06'], ['10.99.0.2:6379', '01'], ['10.244.0.2:40000', '01']]);
    writeFileSync(pod.path('agent/reloads'), '3 1 2 1700000100\n');
    // WHEN it runs
    const r = pod.run();
    // THEN
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    check(r.stdout);
    const out = r.stdout;
    const laptop = `{interface="wg0",public_key="${LAPTOP}",allowed_ips="10.98.0.2/32",friendly_name="laptop"}`;
    const ci = `{interface="wg0",public_key="${CI}",allowed_ips="10.98.0.3/32,10.98.1.0/24",friendly_name="ci \\"runner\\"\\\\1\\n"}`;
    expect(value(out, `wireguard_sent_bytes_total${laptop}`)).toBe('2000');
    expect(value(out, `wireguard_received_bytes_total${laptop}`)).toBe('1000');
    expect(value(out, `wireguard_latest_handshake_seconds${laptop}`)).toBe('1700000000');
    expect(value(out, `wireguard_latest_handshake_seconds${ci}`)).toBe('0');
    expect(value(out, 'wireguard_gateway_route_sessions{route="pg",address="10.99.0.1",port="5432"}')).toBe('2');
    expect(value(out, 'wireguard_gateway_route_sessions{route="redis",address="10.99.0.2",port="6379"}')).toBe('1');
    expect(value(out, 'wireguard_gateway_info{version="1.2.3",config_id="aaaaaaaaaaaaaaaa"}')).toBe('1');
    expect(value(out, 'wireguard_gateway_config_up_to_date')).toBe('1');
    expect(value(out, 'wireguard_gateway_config_reloads_total{result="applied"}')).toBe('3');
    expect(value(out, 'wireguard_gateway_config_reloads_total{result="rejected"}')).toBe('1');
    expect(value(out, 'wireguard_gateway_config_reloads_total{result="failed"}')).toBe('2');
    expect(value(out, 'wireguard_gateway_config_last_applied_timestamp_seconds')).toBe('1700000100');
    // Every route starts with 0 sessions ended for 200, 403 and 502, so that increase() sees the first.
    expect(value(out, sample('pg', '403'))).toBe('0');
    expect(Math.abs(Number(value(out, 'wireguard_gateway_metrics_updated_timestamp_seconds')) - Date.now() / 1000)).toBeLessThan(5);
    expect(out.match(/^# TYPE /gm)).toHaveLength(10); // and target_resolves with getent, below
    // It asked wg only for what it reports: never the private key.
    expect(pod.pod.calls()).toEqual(['wg show wg0 transfer', 'wg show wg0 latest-handshakes', 'wg show wg0 allowed-ips']);
  });

  test('uses the names, types, help texts and label order of prometheus_wireguard_exporter for the peers', () => {
    const pod = new MetricsPod(shell);
    pod.wg({ 'transfer': `${LAPTOP}\t1\t2\n`, 'latest-handshakes': `${LAPTOP}\t3\n`, 'allowed-ips': `${LAPTOP}\t10.98.0.2/32\n` });
    const out = pod.run().stdout;
    check(out);
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
    const pod = new MetricsPod(shell);
    writeFileSync(pod.path('config/..g1/config-id'), 'bbbbbbbbbbbbbbbb0000\n');
    const out = pod.run().stdout;
    expect(value(out, 'wireguard_gateway_config_up_to_date')).toBe('0');
    expect(value(out, 'wireguard_gateway_info{version="1.2.3",config_id="aaaaaaaaaaaaaaaa"}')).toBe('1');
  });

  test('fails, saying why, when wg cannot read the interface (the agent then keeps the last file)', () => {
    const pod = new MetricsPod(shell);
    pod.pod.write('fail-wg', '');
    const r = pod.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\nmetrics: wg show wg0 transfer failed\n$/);
  });

  describe('sessions ended (nginx\'s sessions log)', () => {
    test('counts complete lines once, by route and status, and a partial line when it completes', () => {
      const pod = new MetricsPod(shell);
      const log = join(pod.nginxOut, 'sessions.log');
      writeFileSync(log, '10.99.0.1:5432 200\n10.99.0.1:5432 200\n10.99.0.2:6379 403\n10.99.0.1:5432 5');
      let out = pod.run().stdout;
      expect(value(out, sample('pg', '200'))).toBe('2');
      expect(value(out, sample('redis', '403'))).toBe('1');
      expect(value(out, sample('pg', '502'))).toBe('0');
      appendFileSync(log, '02\n10.99.0.9:80 200\ngarbage\n');
      out = pod.run().stdout;
      expect(value(out, sample('pg', '502'))).toBe('1');
      expect(value(out, sample('pg', '200'))).toBe('2');
      expect(out).not.toContain('10.99.0.9');
      check(out);
    });

    test('counts exactly through rotations: a renamed log is read as it grows, a sealed one finished and its token noted for nginx', () => {
      // GIVEN a sessions log that start-nginx.sh renames now and then, and lines that keep coming
      const pod = new MetricsPod(shell);
      const log = join(pod.nginxOut, 'sessions.log');
      const note = join(pod.agentOut, 'sessions-read');
      let written = 0;
      const write = (file: string, n: number) => {
        appendFileSync(file, '10.99.0.2:6379 200\n'.repeat(n));
        written += n;
      };
      const count = () => Number(value(pod.run().stdout, sample('redis', '200')));
      // WHEN lines come, the log is renamed (nginx still writes to it a moment), and metrics.sh runs in between
      write(log, 5);
      expect(count()).toBe(5);
      for (let round = 1; round <= 4; round++) {
        const token = `0123abcd-${round}`;
        const renamed = join(pod.nginxOut, `sessions.${token}.log`);
        write(log, 2 + round);
        renameSync(log, renamed);
        expect(count()).toBe(written); // read, not finished: nginx may still write to it
        write(renamed, 2); // a worker that had not reopened yet
        write(log, 1); // the reopened log
        expect(count()).toBe(written - 1); // the new log waits until the renamed one is done
        expect(existsSync(note) ? readFileSync(note, 'utf-8') : '').not.toBe(`${token}\n`);
        const past = Date.now() / 1000 - 10;
        utimesSync(renamed, past, past); // sealed: no write for 10 s
        // THEN every line is counted once, and the token is noted for start-nginx.sh, which deletes the file
        expect(count()).toBe(written);
        expect(readFileSync(note, 'utf-8')).toBe(`${token}\n`);
        expect(existsSync(renamed)).toBe(true); // nginx's volume: not the agent's to delete
        expect(count()).toBe(written); // a run before start-nginx.sh deletes it counts nothing twice
        rmSync(renamed);
      }
      expect(count()).toBe(written);
    });

    test('reads nginx\'s files as data: never through a link, never blocked by a FIFO, never a file named otherwise', () => {
      const pod = new MetricsPod(shell);
      const lines = '10.99.0.1:5432 200\n'.repeat(7);
      writeFileSync(pod.path('agent/elsewhere'), lines);
      symlinkSync(pod.path('agent/elsewhere'), join(pod.nginxOut, 'sessions.log'));
      symlinkSync(pod.path('agent/elsewhere'), join(pod.nginxOut, 'sessions.0123abcd-1.log'));
      writeFileSync(join(pod.nginxOut, 'sessions.x;y.log'), lines);
      let r = pod.run();
      expect(r.status).toBe(0);
      expect(value(r.stdout, sample('pg', '200'))).toBe('0');
      rmSync(join(pod.nginxOut, 'sessions.log'));
      execFileSync('mkfifo', [join(pod.nginxOut, 'sessions.log')]);
      const t0 = Date.now();
      r = pod.run();
      expect(r.status).toBe(0);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(value(r.stdout, sample('pg', '200'))).toBe('0');
    }, 60_000);
  });

  describe('target resolves', () => {
    test('1 for a name getent resolves, 0 for one it does not; refreshed in the background', async () => {
      const pod = new MetricsPod(shell);
      writeFileSync(pod.path('getent'), '#!/bin/sh\n[ "$2" = "pg.db.svc.cluster.local." ]\n', { mode: 0o755 });
      pod.run({ GETENT: pod.path('getent') }); // starts the check
      await until('the check', () => existsSync(pod.path('agent/resolves')));
      const out = pod.run({ GETENT: pod.path('getent') }).stdout;
      expect(value(out, 'wireguard_gateway_route_target_resolves{route="pg",address="10.99.0.1",port="5432",target="pg.db.svc.cluster.local"}')).toBe('1');
      expect(value(out, 'wireguard_gateway_route_target_resolves{route="redis",address="10.99.0.2",port="6379",target="redis.cache.svc.cluster.local"}')).toBe('0');
      check(out);
    });

    test('left out when the image has no getent', () => {
      const pod = new MetricsPod(shell);
      const out = pod.run({ GETENT: 'no-getent-here' }).stdout;
      expect(out).not.toContain('target_resolves');
      expect(existsSync(pod.path('agent/resolves.lock'))).toBe(false);
    });
  });
}
