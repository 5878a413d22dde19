/**
 * nginx.conf: the server blocks, the resolver include, the metrics parts.
 * Every conf rendered here is recorded for the system tier's real `nginx -t`
 * (test/nginx-conf.system.test.ts).
 */
import { gatewaySpec, routeSpec } from './spec-fixtures';
import { recordNginxConf, recordedNginxConf } from './util';
import { PeerSpec } from '../src/_model';
import { renderNginxConf as render } from '../src/_render-nginx';

/** Renders, and records the conf for the system tier's nginx -t. */
function renderNginxConf(...args: Parameters<typeof render>): string {
  const conf = render(...args);
  recordNginxConf(conf, args[0].serviceNetwork);
  return conf;
}

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

  test('the resolver is an include start-nginx.sh writes when nginx starts (from start.env): the same nginx.conf whatever the resolver settings', () => {
    const conf = renderNginxConf(spec());
    expect(conf).toContain('  include /tmp/nginx/resolver.conf; # resolver and resolver_timeout: written by start-nginx.sh from start.env\n');
    expect(conf).not.toMatch(/^\s*resolver/m);
    expect(renderNginxConf(spec({ resolver: { addresses: ['10.96.0.10', 'fd00::a'], validSeconds: 3, timeoutSeconds: 1, ipv6: true } }))).toBe(conf);
  });

  test('allowPeers renders allow/deny in that server block only', () => {
    const conf = renderNginxConf(spec({
      routes: [route(), route({ name: 'rds', address: '10.99.0.2', allowAddresses: ['10.98.0.3', '10.98.0.2'] })],
    }));
    const [open, restricted] = serverBlocks(conf);
    expect(open.some((l) => l.startsWith('allow') || l.startsWith('deny'))).toBe(false);
    expect(restricted.slice(0, 4)).toEqual(['listen 10.99.0.2:5432;', 'allow 10.98.0.2;', 'allow 10.98.0.3;', 'deny all;']);
  });

  test('every peer holds at most maxSessionsPerPeer sessions, over all routes: one limit in the stream block, keyed by the tunnel address', () => {
    const conf = renderNginxConf(spec({ maxSessionsPerPeer: 40, routes: [route(), route({ name: 'rds', address: '10.99.0.2' })] }));
    expect(conf).toContain([
      '  # Every peer (by its tunnel address) holds at most 40 session(s) at once, over all routes; nginx closes the next at once.',
      '  limit_conn_zone $binary_remote_addr zone=peers:2m;',
      '  limit_conn peers 40;',
    ].join('\n'));
    // Once, for the whole stream block (no line per route or per peer).
    expect(conf.match(/limit_conn /g)).toHaveLength(1);
    expect(serverBlocks(conf).every((b) => !b.some((l) => l.startsWith('limit_conn')))).toBe(true);
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

  test('a rendered configuration is recorded for the system tier\'s real nginx -t', () => {
    const conf = renderNginxConf(spec({ routes: [route(), route({ address: '10.99.0.2', allowAddresses: ['10.98.0.2'] })] }));
    expect(recordedNginxConf(conf)).toBe(true);
    expect(recordedNginxConf(conf + '# not rendered\n')).toBe(false);
  });
});

describe('renderNginxConf with metrics', () => {
  const peer = (name: string, address: string): PeerSpec => ({ name, path: `app/gw/${name}`, publicKey: 'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=', address });
  const withMetrics = () => spec({
    metrics: { port: 9586, refreshSeconds: 5, version: '1.2.3' },
    peers: [peer('laptop', '10.98.0.2'), peer('ci "runner"\\1\n', '10.98.0.3')],
  });

  test('the http server listens on the pod address only (an include), holds no list of peers, serves the agent\'s file', () => {
    const conf = renderNginxConf(withMetrics());
    const http = conf.slice(conf.indexOf('\nhttp {')).split('\n').map((l) => l.trim());
    expect(http.filter((l) => l.startsWith('listen'))).toEqual([]);
    expect(http).toContain('include /tmp/nginx/metrics-listen.conf; # listen <pod IP>:9586; written by start-nginx.sh');
    expect(http.filter((l) => /^(allow|deny) /.test(l))).toEqual([]);
    expect(http).toContain('alias /run/wireguard-gateway/agent-out/metrics.prom;');
    expect(conf).toContain('  access_log /run/wireguard-gateway/nginx-out/sessions.log sessions;\n');
  });

  test('without metrics nothing of it is rendered', () => {
    expect(renderNginxConf(spec())).not.toMatch(/http \{|sessions/);
  });
});
