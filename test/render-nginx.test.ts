import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gatewaySpec, routeSpec } from './spec-fixtures';
import { STREAM_MODULE, nginxTest } from './util';
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
    expect(renderStartNginx(spec({ resolver: { addresses: ['10.96.0.10'], validSeconds: 3, timeoutSeconds: 1, ipv6: false } }))).not.toContain('"nameserver"');
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
    // Run the real script up to, not including, starting nginx: the resolver file it writes is the output.
    const full = renderStartNginx(spec()).replace('/tmp/nginx/resolver.conf', join(dir, 'resolver.conf'));
    const script = full.slice(0, full.indexOf('# nginx runs from a copy')) + 'exit 0\n';
    writeFileSync(join(dir, 'start.sh'), script);
    const r = spawnSync('sh', [join(dir, 'start.sh')], { env: { ...process.env, RESOLV_CONF: join(dir, 'resolv.conf') }, encoding: 'utf-8' });
    let out = '';
    try { out = readFileSync(join(dir, 'resolver.conf'), 'utf-8'); } catch { /* not written */ }
    return { out, status: r.status, stderr: r.stderr };
  }

  test.each([['sh'], ['busybox', 'sh']])('is valid sh (%s)', (...shell) => {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-sh-'));
    writeFileSync(join(dir, 's.sh'), renderStartNginx(spec()));
    execFileSync(shell[0], [...shell.slice(1), '-n', join(dir, 's.sh')]);
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

describe('start-nginx.sh with real nginx (as uid 101, busybox sh): reloads on request and checks the outcome', () => {
  const n = process.pid % 100000;
  const ns = `wggwn${n}`;
  let dir: string;
  let supervisor: ChildProcess | undefined;

  const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf-8' });
  const listening = () => inNs('ss', '-Hltn').split('\n').map((l) => l.split(/\s+/)[3]).filter(Boolean).sort();
  const until = async (what: string, ok: () => boolean, ms = 8000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** A new ConfigMap generation (the kubelet's layout), swapped in; returns its name. */
  let generation = 0;
  const mount = (conf: string): string => {
    const gen = `..2026_11_30_00_00_0${generation++}.${n}`;
    mkdirSync(join(dir, 'config', gen));
    writeFileSync(join(dir, 'config', gen, 'nginx.conf'), `load_module ${STREAM_MODULE};\n${conf}`.split('/tmp/nginx/').join(`${dir}/run/`));
    rmSync(join(dir, 'config', '..data'), { force: true });
    symlinkSync(gen, join(dir, 'config', '..data'));
    return gen;
  };
  const request = async (gen: string): Promise<string> => {
    writeFileSync(join(dir, 'state', 'reload-request'), `${gen} id-${gen}\n`);
    let answer = '';
    await until(`an answer for ${gen}`, () => {
      try { answer = readFileSync(join(dir, 'state', 'reload-result'), 'utf-8'); } catch { answer = ''; }
      return answer.startsWith(`${gen} `);
    });
    return answer.trim();
  };
  const confWith = (routes: Array<[string, number]>) => renderNginxConf(spec({
    resolver: { addresses: ['127.0.0.1'], validSeconds: 5, timeoutSeconds: 2, ipv6: false },
    routes: routes.map(([address, listenPort]) => route({ address, listenPort, name: `r${listenPort}` })),
  }));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wggw-supervisor-'));
    chmodSync(dir, 0o755);
    for (const d of ['config', 'run', 'state']) mkdirSync(join(dir, d), { mode: 0o777 });
    for (const d of ['run', 'state']) chmodSync(join(dir, d), 0o777);
    execFileSync('ip', ['netns', 'add', ns]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    for (const a of ['10.99.0.1', '10.99.0.2', '10.99.0.3']) inNs('ip', 'address', 'add', `${a}/32`, 'dev', 'lo');
  });

  afterAll(() => {
    supervisor?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf-8' }).stdout.split('\n').filter(Boolean).forEach((p) => {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    });
    spawnSync('ip', ['netns', 'delete', ns]);
  });

  test('start, a good change, a reload nginx cannot apply (EADDRINUSE), a file nginx -t refuses, SIGTERM', async () => {
    // GIVEN nginx started by the script from the first generation
    mount(confWith([['10.99.0.1', 15432]]));
    const script = renderStartNginx(spec({ resolver: { addresses: ['127.0.0.1'], validSeconds: 5, timeoutSeconds: 2, ipv6: false } }))
      .replace('RUN_DIR="/tmp/nginx"', `RUN_DIR="${dir}/run"`).split('/tmp/nginx/').join(`${dir}/run/`);
    writeFileSync(join(dir, 'start-nginx.sh'), script);
    const stdout = openSync(join(dir, 'stdout'), 'w');
    chownSync(join(dir, 'stdout'), 101, 101);
    supervisor = spawn('ip', ['netns', 'exec', ns, 'setpriv', '--reuid=101', '--regid=101', '--clear-groups', '--no-new-privs',
      'busybox', 'sh', join(dir, 'start-nginx.sh')], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CONFIG_DIR: join(dir, 'config'), STATE_DIR: join(dir, 'state') },
      stdio: ['ignore', stdout, 'pipe'],
    });
    let stderr = '';
    supervisor.stderr!.on('data', (d) => { stderr += d; });
    await until('nginx to listen', () => listening().includes('10.99.0.1:15432'));

    // WHEN a new generation adds a route: THEN new workers, and the new listener
    const good = mount(confWith([['10.99.0.1', 15432], ['10.99.0.2', 16379]]));
    expect(await request(good)).toMatch(new RegExp(`^${good.replace(/\./g, '\\.')} ok reloaded, new workers \\d+`));
    expect(listening()).toEqual(['10.99.0.1:15432', '10.99.0.2:16379']);

    // WHEN a generation listens where another process already does: nginx -t passes (it
    // ignores EADDRINUSE), SIGHUP does not take (nginx keeps its configuration silently)
    const squatter = spawn('ip', ['netns', 'exec', ns, 'node', '-e', 'require("net").createServer().listen(17000, "10.99.0.3")']);
    try {
      await until('the squatter to listen', () => listening().includes('10.99.0.3:17000'));
      const taken = mount(confWith([['10.99.0.1', 15432], ['10.99.0.3', 17000]]));
      const answer = await request(taken);
      // THEN the script notices (no new workers) and says why, and nginx serves the last good one
      expect(answer).toMatch(/ failed reload: no new workers within 5 s \(bind\(\) to 10\.99\.0\.3:17000 failed \(98: Address (already )?in use\)\)$/);
      expect(listening()).toEqual(['10.99.0.1:15432', '10.99.0.2:16379', '10.99.0.3:17000']);
      expect(readFileSync(join(dir, 'run', 'nginx.conf'), 'utf-8')).toContain('listen 10.99.0.2:16379;');
    } finally {
      squatter.kill('SIGKILL');
    }

    // WHEN a generation does not parse: THEN nginx -t refuses it and nothing is reloaded
    const broken = mount(confWith([['10.99.0.1', 15432]]) + 'stream {\n');
    expect(await request(broken)).toMatch(/ failed nginx -t: "stream" directive is duplicate in .*nginx\.conf\.new:\d+$/);
    expect(listening()).toEqual(['10.99.0.1:15432', '10.99.0.2:16379']);

    // WHEN the same nginx.conf comes again: THEN no reload (old workers keep sessions)
    const same = mount(confWith([['10.99.0.1', 15432], ['10.99.0.2', 16379]]));
    expect(await request(same)).toBe(`${same} ok nginx.conf unchanged, no reload`);

    // WHEN the kubelet stops the container: THEN nginx exits and the script with it
    const exited = new Promise<number | null>((resolve) => supervisor!.on('exit', (code) => resolve(code)));
    supervisor.kill('SIGTERM');
    expect(await exited).not.toBeNull();
    await until('nginx to stop listening', () => listening().length === 0);
    expect(stderr).toContain('start-nginx: config id-');
  }, 60_000);
});
