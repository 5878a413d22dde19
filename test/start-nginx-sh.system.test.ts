/**
 * System tier: assets/start-nginx.sh under busybox sh and dash with the unit
 * tier's stand-in nginx, then with the real nginx, as uid 101 in a network
 * namespace, as the nginx container runs it.
 */
import { spawn } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { configFiles, mountGeneration } from './script-cases/pod-config';
import { startNginxShCases } from './script-cases/start-nginx-sh';
import { gatewaySpec, routeSpec } from './spec-fixtures';
import { until } from './stand-ins';
import { DASH, NginxContainer, adaptNginxConf, busyboxShell } from './system-util';
import { renderNginxConf } from '../src/_render-nginx';

describe.each([busyboxShell(), DASH])('start-nginx.sh ($name, stand-ins)', (shell) => {
  startNginxShCases(shell);
});

describe('start-nginx.sh with real nginx (as uid 101, busybox sh): reloads on request and checks the outcome', () => {
  let c: NginxContainer;
  const listening = () => c.inNs('ss', '-Hltn').split('\n').map((l) => l.split(/\s+/)[3]).filter(Boolean).sort();
  const spec = (routes: Array<[string, number]>) => gatewaySpec({
    resolver: { addresses: ['127.0.0.1'], validSeconds: 5, timeoutSeconds: 2, ipv6: false },
    routes: routes.map(([address, listenPort]) => routeSpec({ address, listenPort, name: `r${listenPort}` })),
  });
  /** A new ConfigMap generation (the kubelet's layout), swapped in; its nginx.conf adapted to this machine. */
  let generation = 0;
  const mount = (routes: Array<[string, number]>, extra = ''): string => {
    const s = spec(routes);
    return mountGeneration(c.path('config'), `..2026_11_30_00_00_0${generation++}.1`, {
      ...configFiles(s),
      'nginx.conf': `${adaptNginxConf(renderNginxConf(s), c.path('run'), c.path('share'))}${extra}`,
    });
  };
  const request = async (gen: string): Promise<string> => {
    writeFileSync(c.path('share', 'agent-out', 'reload-request'), `${gen} 0123456789abcdef\n`);
    let answer = '';
    await until(`an answer for ${gen}`, () => {
      try { answer = readFileSync(c.path('share', 'nginx-out', 'reload-result'), 'utf-8'); } catch { answer = ''; }
      return answer.startsWith(`${gen} `);
    }, () => c.stderr);
    return answer.trim();
  };

  beforeAll(() => { c = new NginxContainer(['10.99.0.1', '10.99.0.2', '10.99.0.3']); });
  afterAll(() => c.close());

  test('start, a good change, a reload nginx cannot apply (EADDRINUSE), a file nginx -t refuses, SIGTERM', async () => {
    // GIVEN nginx started by the script (the shipped file, paths from the environment) from the first generation
    mount([['10.99.0.1', 15432]]);
    const exited = c.start();
    await until('nginx to listen', () => listening().includes('10.99.0.1:15432'), () => c.stderr);
    expect(readFileSync(c.path('run', 'resolver.conf'), 'utf-8')).toBe('resolver 127.0.0.1 valid=5s ipv6=off;\nresolver_timeout 2s;\n');

    // WHEN a new generation adds a route: THEN new workers, and the new listener
    const good = mount([['10.99.0.1', 15432], ['10.99.0.2', 16379]]);
    expect(await request(good)).toMatch(new RegExp(`^${good.replace(/\./g, '\\.')} ok reloaded, new workers \\d+`));
    expect(listening()).toEqual(['10.99.0.1:15432', '10.99.0.2:16379']);

    // WHEN a generation listens where another process already does: nginx -t passes (it
    // ignores EADDRINUSE), SIGHUP does not take (nginx keeps its configuration silently)
    const squatter = spawn('ip', ['netns', 'exec', c.ns, 'node', '-e', 'require("net").createServer().listen(17000, "10.99.0.3")']);
    try {
      await until('the squatter to listen', () => listening().includes('10.99.0.3:17000'));
      const taken = mount([['10.99.0.1', 15432], ['10.99.0.3', 17000]]);
      const answer = await request(taken);
      // THEN the script notices (no new workers) and says why, and nginx serves the last good one
      expect(answer).toMatch(/ failed reload: no new workers within 5 s \(bind\(\) to 10\.99\.0\.3:17000 failed \(98: Address (already )?in use\)\)$/);
      expect(listening()).toEqual(['10.99.0.1:15432', '10.99.0.2:16379', '10.99.0.3:17000']);
      expect(readFileSync(c.path('run', 'nginx.conf'), 'utf-8')).toContain('listen 10.99.0.2:16379;');
    } finally {
      squatter.kill('SIGKILL');
    }

    // WHEN a generation holds what the library never writes: THEN its check refuses it, nginx never sees it
    const foreign = mount([['10.99.0.1', 15432]], 'stream {\n  include /etc/passwd;\n}\n');
    expect(await request(foreign)).toMatch(/ failed nginx\.conf is not what the library writes \(line \d+: "  include \/etc\/passwd;" is not what the library writes there\)$/);
    // WHEN a generation passes the check but nginx -t refuses it (two routes on one address and port)
    const twice = mount([['10.99.0.1', 15432], ['10.99.0.1', 15432]]);
    expect(await request(twice)).toMatch(/ failed nginx -t: duplicate "10\.99\.0\.1:15432" address and port pair in .*nginx\.conf\.new:\d+$/);
    expect(listening()).toEqual(['10.99.0.1:15432', '10.99.0.2:16379']);

    // WHEN the same nginx.conf comes again: THEN no reload (old workers keep sessions)
    const same = mount([['10.99.0.1', 15432], ['10.99.0.2', 16379]]);
    expect(await request(same)).toBe(`${same} ok nginx.conf unchanged, no reload`);

    // WHEN the kubelet stops the container: THEN nginx exits and the script with it
    c.stop('SIGTERM');
    expect(await exited).not.toBeNull();
    await until('nginx to stop listening', () => listening().length === 0);
    expect(c.stderr).toContain('start-nginx: config 0123456789abcdef loaded');
  }, 60_000);
});
