import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gatewaySpec, routeSpec } from './spec-fixtures';
import { nginxTest } from './util';
import { renderNginxConf, renderStartNginx } from '../src/_render-nginx';

const route = routeSpec;
const spec = gatewaySpec;

/** The server blocks of a rendered nginx.conf, parsed back. */
function serverBlocks(conf: string): string[][] {
  return [...conf.matchAll(/\n {2}server \{\n([\s\S]*?)\n {2}\}/g)].map((m) => m[1].split('\n').map((l) => l.trim()));
}

describe('renderNginxConf', () => {
  test('one server block per route: listen, per-connection DNS, timeouts', () => {
    const conf = renderNginxConf(spec());
    expect(serverBlocks(conf)).toEqual([[
      'listen 10.99.0.1:5432;',
      'set $backend "pg.db.svc.cluster.local:5432";',
      'proxy_pass $backend;',
      'proxy_connect_timeout 10s;',
      'proxy_timeout 86400s;',
      'proxy_socket_keepalive on;',
    ]]);
    // A literal proxy_pass host would be resolved once, at start: never render one.
    expect(conf).not.toMatch(/proxy_pass [a-z0-9.-]+:\d+;/);
  });

  test('sizes workers for the requested sessions and keeps files in the emptyDir', () => {
    const conf = renderNginxConf(spec({ workerProcesses: 1, workerConnections: 4200 }));
    expect(conf).toContain('worker_processes 1;');
    expect(conf).toContain('worker_connections 4200;');
    expect(conf).toContain('worker_rlimit_nofile 8400;');
    expect(conf).toContain('pid /tmp/nginx/nginx.pid;');
    expect(conf).toContain('daemon off;');
  });

  test('the resolver comes from resolv.conf at start by default, with a short timeout and no AAAA', () => {
    const conf = renderNginxConf(spec());
    expect(conf).toContain('include /tmp/nginx/resolver.conf;');
    expect(conf).toContain('resolver_timeout 2s;');
    expect(renderStartNginx(spec())).toContain("printf 'resolver %svalid=5s ipv6=off;\\n'");
  });

  test('explicit resolvers are rendered inline, IPv6 in brackets; ipv6 can be enabled', () => {
    const conf = renderNginxConf(spec({ resolver: { addresses: ['10.96.0.10', 'fd00::a'], validSeconds: 3, timeoutSeconds: 1, ipv6: true } }));
    expect(conf).toContain('resolver 10.96.0.10 [fd00::a] valid=3s ipv6=on;');
    expect(conf).toContain('resolver_timeout 1s;');
    expect(conf).not.toContain('include');
    expect(renderStartNginx(spec({ resolver: { addresses: ['10.96.0.10'], validSeconds: 3, timeoutSeconds: 1, ipv6: false } }))).not.toContain('awk');
  });

  test('allowPeers renders allow/deny in that server block only', () => {
    const conf = renderNginxConf(spec({
      routes: [route(), route({ name: 'rds', address: '10.99.0.2', allowAddresses: ['10.98.0.3', '10.98.0.2'] })],
    }));
    const [open, restricted] = serverBlocks(conf);
    expect(open.some((l) => l.startsWith('allow') || l.startsWith('deny'))).toBe(false);
    expect(restricted.slice(0, 4)).toEqual(['listen 10.99.0.2:5432;', 'allow 10.98.0.2;', 'allow 10.98.0.3;', 'deny all;']);
  });

  test('an empty allowPeers denies everyone', () => {
    const [block] = serverBlocks(renderNginxConf(spec({ routes: [route({ allowAddresses: [] })] })));
    expect(block[1]).toBe('deny all;');
  });

  test('server blocks are sorted by address and port, whatever the definition order', () => {
    const a = route({ address: '10.99.0.10', listenPort: 1 + 5000 });
    const b = route({ address: '10.99.0.9', listenPort: 5432 });
    const c = route({ address: '10.99.0.9', listenPort: 80 });
    expect(renderNginxConf(spec({ routes: [a, b, c] }))).toBe(renderNginxConf(spec({ routes: [c, a, b] })));
    expect(serverBlocks(renderNginxConf(spec({ routes: [a, b, c] }))).map((s) => s[0])).toEqual([
      'listen 10.99.0.9:80;', 'listen 10.99.0.9:5432;', 'listen 10.99.0.10:5001;',
    ]);
  });

  test('comments cannot carry a newline or a directive out of the comment', () => {
    const conf = renderNginxConf(spec({ path: 'app/gw\n}\nevil;', routes: [route({ path: 'a/b\nlisten 0.0.0.0:22;' })] }));
    expect(conf).not.toContain('listen 0.0.0.0:22;');
    expect(conf.split('\n').filter((l) => l.includes('evil'))).toEqual([expect.stringMatching(/^# /)]);
  });

  test('a rendered configuration passes real nginx -t', () => {
    const conf = renderNginxConf(spec({ routes: [route(), route({ address: '10.99.0.2', allowAddresses: ['10.98.0.2'] })] }));
    expect(nginxTest(conf)).toContain('syntax is ok');
  });
});

describe('renderStartNginx', () => {
  function runAwkPart(resolvConf: string): { out: string; status: number | null; stderr: string } {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-start-'));
    writeFileSync(join(dir, 'resolv.conf'), resolvConf);
    // Run the real script up to, not including, exec nginx: the resolver file it writes is the output.
    const script = renderStartNginx(spec())
      .replace('/tmp/nginx/resolver.conf', join(dir, 'resolver.conf'))
      .replace(/^exec nginx.*$/m, 'exit 0');
    writeFileSync(join(dir, 'start.sh'), script);
    const r = spawnSync('sh', [join(dir, 'start.sh')], { env: { ...process.env, RESOLV_CONF: join(dir, 'resolv.conf') }, encoding: 'utf-8' });
    let out = '';
    try { out = readFileSync(join(dir, 'resolver.conf'), 'utf-8'); } catch { /* not written */ }
    return { out, status: r.status, stderr: r.stderr };
  }

  test('is valid sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-sh-'));
    writeFileSync(join(dir, 's.sh'), renderStartNginx(spec()));
    execFileSync('sh', ['-n', join(dir, 's.sh')]);
  });

  test('takes the pod nameservers from resolv.conf, IPv6 bracketed', () => {
    const r = runAwkPart('search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::10\noptions ndots:5\n');
    expect(r.status).toBe(0);
    expect(r.out).toBe('resolver 10.96.0.10 [fd00::10] valid=5s ipv6=off;\n');
  });

  test('ignores anything in resolv.conf that is not a plain address', () => {
    const r = runAwkPart('nameserver 10.0.0.1;include/etc/passwd\nnameserver fe80::1%eth0\nnameserver 10.96.0.10\n');
    expect(r.out).toBe('resolver 10.96.0.10 valid=5s ipv6=off;\n');
  });

  test('fails clearly when resolv.conf has no nameserver', () => {
    const r = runAwkPart('search x\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no usable nameserver');
    expect(r.stderr).toContain('set resolverAddresses on the WireguardGateway');
  });
});
