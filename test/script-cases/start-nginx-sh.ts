/**
 * start-nginx.sh's decisions, with a recorded stand-in for nginx (its workers
 * are entries of the fake /proc): the resolver and metrics includes it writes,
 * the check of nginx.conf as data (what it accepts, what it refuses, at start
 * and on a reload), how it answers each reload request, the sessions log's
 * rotation, and SIGTERM. The unit tier runs these cases under the host's sh,
 * the system tier under busybox sh and dash, and start-nginx.sh with the real
 * nginx.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'fs';
import { join } from 'path';
import { adaptNginxConf, configFiles, mountGeneration, peer, route, spec } from './pod-config';
import { GatewaySpec } from '../../src/_model';
import { renderStartSettings } from '../../src/_render-data';
import { renderNginxConf } from '../../src/_render-nginx';
import { FakePod, Running, Shell, stop, until } from '../stand-ins';

const METRICS = { port: 9586, refreshSeconds: 5, version: '1.2.3' };

class NginxPod {
  public readonly pod = new FakePod();
  public readonly config = join(this.pod.dir, 'config');
  public script?: Running;
  private n = 0;

  constructor(private readonly shell: Shell, private readonly s: GatewaySpec = spec()) {
    for (const d of ['config', 'run', 'share/agent-out', 'share/nginx-out']) mkdirSync(join(this.pod.dir, d), { recursive: true });
    writeFileSync(this.path('resolv.conf'), 'search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  }

  public path(...parts: string[]): string {
    return join(this.pod.dir, ...parts);
  }

  /** A new generation of the ConfigMap with this nginx.conf (and the start.env of the pod's spec). */
  public mount(nginxConf: string, over: Record<string, string> = {}): string {
    return mountGeneration(this.config, `..2026_11_30_00_00_${String(this.n++).padStart(2, '0')}.1`,
      { ...configFiles(this.s), 'nginx.conf': nginxConf, ...over });
  }

  public env(more: Record<string, string> = {}): Record<string, string> {
    return { CONFIG_DIR: this.config, AGENT_OUT: this.path('share', 'agent-out'), NGINX_OUT: this.path('share', 'nginx-out'), RUN_DIR: this.path('run'), RESOLV_CONF: this.path('resolv.conf'), ...more };
  }

  /** Runs the script to its end (the stand-in nginx exits at once). */
  public runOnce(more: Record<string, string> = {}) {
    this.pod.write('nginx-exits', '');
    return this.pod.run('start-nginx.sh', [], this.env(more), this.shell);
  }

  public start(more: Record<string, string> = {}): Running {
    this.script = this.pod.start('start-nginx.sh', [], this.env(more), this.shell);
    return this.script;
  }

  public file(...parts: string[]): string | undefined {
    return existsSync(this.path(...parts)) ? readFileSync(this.path(...parts), 'utf-8') : undefined;
  }

  /** This pod's spec rendered as its nginx.conf, adapted to its directories (what check_nginx_conf accepts). */
  public rendered(s: GatewaySpec = this.s): string {
    return adaptNginxConf(renderNginxConf(s), this.path('run'), this.path('share'));
  }

  /** Asks for a reload of GEN, as the agent does (its id: 16 hex digits), and returns the answer. */
  public async request(gen: string, id = '0123456789abcdef'): Promise<string> {
    writeFileSync(this.path('share', 'agent-out', 'reload-request'), `${gen} ${id}\n`);
    await until(`an answer for ${gen}`, () => (this.file('share', 'nginx-out', 'reload-result') ?? '').startsWith(`${gen} `),
      () => this.script?.out ?? '', 15_000);
    return this.file('share', 'nginx-out', 'reload-result')!.trim();
  }

  /** Runs `start-nginx.sh check FILE` on this text (with this pod's start.env mounted). */
  public check(conf: string) {
    this.mount(conf);
    writeFileSync(this.path('run', 'checked.conf'), conf);
    return this.pod.run('start-nginx.sh', ['check', this.path('run', 'checked.conf')], this.env(), this.shell);
  }

  public end(): void {
    if (this.script !== undefined) stop(this.script);
  }
}

export function startNginxShCases(shell: Shell): void {
  let pods: NginxPod[] = [];
  const newPod = (s?: GatewaySpec) => {
    const p = new NginxPod(shell, s);
    pods.push(p);
    return p;
  };
  afterEach(() => {
    pods.forEach((p) => p.end());
    pods = [];
  });

  describe('the resolver', () => {
    test('comes from the pod\'s resolv.conf: its nameservers, IPv6 bracketed, with start.env\'s valid, ipv6 and timeout', () => {
      const p = newPod();
      p.mount('# nginx.conf\n');
      writeFileSync(p.path('resolv.conf'), 'search default.svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::10\noptions ndots:5\n');
      const r = p.runOnce();
      expect(r.stderr).toContain('start-nginx: resolver 10.96.0.10 [fd00::10] valid=5s ipv6=off, timeout 2s\n');
      expect(r.status).toBe(0);
      expect(p.file('run', 'resolver.conf')).toBe('resolver 10.96.0.10 [fd00::10] valid=5s ipv6=off;\nresolver_timeout 2s;\n');
      // nginx runs from a copy of the mounted nginx.conf.
      expect(p.file('run', 'nginx.conf')).toBe('# nginx.conf\n');
      expect(p.pod.calls()).toEqual([`nginx -e stderr -c ${p.path('run', 'nginx.conf')}`]);
    });

    test('ignores anything in resolv.conf that is not a plain address', () => {
      const p = newPod();
      p.mount('');
      writeFileSync(p.path('resolv.conf'), 'nameserver 10.0.0.1;include/etc/passwd\nnameserver fe80::1%eth0\nnameserver 10.96.0.10\n');
      expect(p.runOnce().status).toBe(0);
      expect(p.file('run', 'resolver.conf')).toBe('resolver 10.96.0.10 valid=5s ipv6=off;\nresolver_timeout 2s;\n');
    });

    test('fails clearly when resolv.conf has no nameserver, before nginx starts', () => {
      const p = newPod();
      p.mount('');
      writeFileSync(p.path('resolv.conf'), 'search x\n');
      const r = p.runOnce();
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`start-nginx: no usable nameserver in ${p.path('resolv.conf')}; set resolverAddresses on the WireguardGateway\n`);
      expect(p.pod.calls()).toEqual([]);
    });

    test('resolverAddresses (start.env) replace resolv.conf; ipv6, valid and the timeout follow the props', () => {
      const p = newPod(spec({ resolver: { addresses: ['10.96.0.10', 'fd00::a'], validSeconds: 3, timeoutSeconds: 1, ipv6: true } }));
      p.mount('');
      expect(p.runOnce().status).toBe(0);
      expect(p.file('run', 'resolver.conf')).toBe('resolver 10.96.0.10 [fd00::a] valid=3s ipv6=on;\nresolver_timeout 1s;\n');
    });

    test.each([
      ['an address that is not one', 'resolver_addresses=10.96.0.10;include /etc/passwd', 'start-nginx: start.env: resolver_addresses "10.96.0.10;include /etc/passwd" holds something that is not an IP address'],
      ['a validity that is not a number', 'resolver_valid_seconds=5s', 'start-nginx: start.env: resolver_valid_seconds "5s" or resolver_timeout_seconds "2" is not a number'],
      ['ipv6 neither on nor off', 'resolver_ipv6=yes', 'start-nginx: start.env: resolver_ipv6 "yes" is neither on nor off'],
      ['no resolver settings at all', '', 'start.env lacks a resolver, metrics or service_network setting: is it a configuration this library wrote?'],
      ['a service network that is not one', 'service_network=0.0.0.0/0', 'start-nginx: start.env: service_network "0.0.0.0/0" is not an IPv4 network of /16 to /32'],
    ])('fails if start.env has %s, before nginx starts', (_name, line, message) => {
      const p = newPod();
      const settings = renderStartSettings(spec()).split('\n');
      const key = line.split('=')[0];
      p.mount('', { 'start.env': line === '' ? '# empty\n' : settings.map((l) => (l.startsWith(`${key}=`) ? line : l)).join('\n') });
      const r = p.runOnce();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(p.pod.calls()).toEqual([]);
    });
  });

  describe('with metrics: the listen line of /metrics from POD_IP', () => {
    test.each([
      ['10.244.0.2', 0, 'listen 10.244.0.2:9586;\n'],
      ['fd00::1:2', 0, 'listen [fd00::1:2]:9586;\n'],
      ['', 1, undefined],
      ['10.244.0.2;include /etc/passwd', 1, undefined],
    ])('POD_IP=%j: exit %d, writes %j', (podIp, status, written) => {
      const p = newPod(spec({ metrics: METRICS }));
      p.mount('');
      const r = p.runOnce({ POD_IP: podIp });
      expect(r.status).toBe(status);
      expect(p.file('run', 'metrics-listen.conf')).toBe(written);
      if (status !== 0) expect(r.stderr).toContain(`start-nginx: POD_IP is "${podIp}", not an IP address: the Deployment sets it from the pod's status.podIP\n`);
    });

    test('without metrics, no listen line and POD_IP is not needed', () => {
      const p = newPod();
      p.mount('');
      expect(p.runOnce().status).toBe(0);
      expect(p.file('run', 'metrics-listen.conf')).toBeUndefined();
    });
  });

  describe('nginx.conf, checked as data (check_nginx_conf)', () => {
    test.each<[string, GatewaySpec]>([
      ['one route', spec({ routes: [route('10.99.0.1', 5432)] })],
      ['routes with allowPeers', spec({ routes: [{ ...route('10.99.0.1', 5432), allowAddresses: ['10.98.0.2', '10.98.0.3'] }, route('10.99.0.2', 6379)], peers: [peer(0), peer(1)] })],
      ['metrics', spec({ metrics: METRICS })],
      ['no routes', spec({ routes: [] })],
      ['a hostile route name and path', spec({ routes: [{ ...route('10.99.0.1', 5432), name: 'x;\n}\nload_module /x.so;', path: 'a/b;c {\n' }] })],
    ])('accepts what the library renders: %s', (_name, s) => {
      const p = newPod(s);
      const r = p.check(p.rendered(s));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    const base = () => renderNginxConf(spec({ metrics: METRICS }));
    test.each<[string, (conf: string) => string, string]>([
      ['a module loaded', (c) => `load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n${c}`, 'line 1: "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;"'],
      ['a file included', (c) => c.replace('  access_log /dev/stdout gateway;', '  include /etc/passwd;'), '"  include /etc/passwd;"'],
      ['a log written elsewhere', (c) => c.replace('  access_log /dev/stdout gateway;', '  access_log /tmp/nginx/code/start-nginx.sh gateway;'), '/run/code/start-nginx.sh gateway;" is not'],
      ['a listener outside the service network', (c) => c.replace('listen 10.99.0.1:5432;', 'listen 10.244.0.2:5432;'), '"    listen 10.244.0.2:5432;"'],
      ['a listener on every address', (c) => c.replace('listen 10.99.0.1:5432;', 'listen 0.0.0.0:5432;'), '"    listen 0.0.0.0:5432;"'],
      ['a listener without an address', (c) => c.replace('listen 10.99.0.1:5432;', 'listen 5432;'), '"    listen 5432;"'],
      ['a target with a variable', (c) => c.replace(/set \$backend "[^"]*";/, 'set $backend "$remote_addr:22";'), '"    set $backend "$remote_addr:22";"'],
      ['a target with a port out of range', (c) => c.replace(/set \$backend "([^":]*):\d+";/, 'set $backend "$1:70000";'), 'is not what the library writes there'],
      ['the metrics served from elsewhere', (c) => c.replace(/alias [^;]*;/, 'alias /run/secrets/wireguard-gateway-psk/;'), '"      alias /run/secrets/wireguard-gateway-psk/;"'],
      ['an unknown directive', (c) => c.replace('    proxy_socket_keepalive on;', '    proxy_socket_keepalive on;\n    bogus on;'), '"    bogus on;"'],
      ['a directive in another block', (c) => c.replace('    location / {', '    listen 10.99.0.1:9999;\n    location / {'), '"    listen 10.99.0.1:9999;"'],
      ['a directive over two lines', (c) => c.replace('    proxy_pass $backend;', '    proxy_pass\n      $backend;'), '"    proxy_pass"'],
      ['a carriage return', (c) => c.replace('daemon off;', 'daemon off;\r'), '"daemon off;?"'],
      ['a block left open', (c) => `${c}stream {\n`, 'it ends inside a block'],
      ['a second log format line of another text', (c) => c.replace("'$status $bytes_received/$bytes_sent $session_time';", "'$status'; include /etc/passwd;"), 'is not what the library writes there'],
    ])('refuses %s, saying where', (_name, edit, message) => {
      const p = newPod(spec({ metrics: METRICS }));
      const r = p.check(adaptNginxConf(edit(base()), p.path('run'), p.path('share')));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(/^start-nginx: .*checked\.conf is not an nginx\.conf this library writes \((line \d+: ".*" is not what the library writes there|it ends inside a block)\)\n$/);
    });

    test('at start: a mounted nginx.conf that is not the library\'s never runs', () => {
      const p = newPod();
      p.mount(`load_module /x.so;\n${p.rendered()}`);
      const r = p.runOnce();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('is not an nginx.conf this library writes (line 1: "load_module /x.so;" is not what the library writes there); nginx not started\n');
      expect(p.pod.calls()).toEqual([]);
    });
  });

  test('reloads on request: new workers, an unchanged file, a file it refuses, one nginx -t refuses, a SIGHUP that does not take, SIGTERM', async () => {
    // GIVEN nginx started by the script from the first generation
    const p = newPod();
    const one = p.rendered(spec({ routes: [route('10.99.0.1', 5432)] }));
    const two = p.rendered(spec({ routes: [route('10.99.0.1', 5432), route('10.99.0.2', 6379)] }));
    const three = p.rendered(spec({ routes: [route('10.99.0.3', 5432)] }));
    const g1 = p.mount(one);
    p.start();
    await until('nginx to start', () => p.pod.calls().length > 0, () => p.script!.out);

    // WHEN nginx is asked for the generation it serves: THEN nothing to do
    expect(await p.request(g1)).toBe(`${g1} ok already serving it`);
    // WHEN a new generation changes nginx.conf: THEN the check, nginx -t, SIGHUP, and the new workers
    const g2 = p.mount(two);
    // (The answer names the new workers seen when the first appeared: one or both.)
    expect(await p.request(g2, '2222222222222222')).toMatch(new RegExp(`^${g2.replace(/\./g, '\\.')} ok reloaded, new workers \\d+( \\d+)?$`));
    expect(p.pod.calls().slice(1)).toEqual([`nginx -t -q -e stderr -c ${p.path('run', 'nginx.conf.new')}`, 'nginx SIGHUP']);
    expect(p.file('run', 'nginx.conf')).toBe(two);
    // (Its stderr reaches the test a moment after the answer file.)
    await until('the log line', () => /start-nginx: config 2222222222222222 loaded: new workers \d+( \d+)?\n/.test(p.script!.out), () => p.script!.out);

    // WHEN the same nginx.conf comes again: THEN no reload (old workers keep their sessions)
    const g3 = p.mount(two);
    expect(await p.request(g3)).toBe(`${g3} ok nginx.conf unchanged, no reload`);

    // WHEN a generation's nginx.conf is not the library's: THEN it never reaches nginx, and the answer says why
    p.pod.clearCalls();
    const g4 = p.mount(`${two}load_module /x.so;\n`);
    expect(await p.request(g4)).toMatch(new RegExp(`^${g4.replace(/\./g, '\\.')} failed nginx\\.conf is not what the library writes \\(line \\d+: "load_module /x\\.so;" is not what the library writes there\\)$`));
    expect(p.pod.calls()).toEqual([]);
    expect(p.file('run', 'nginx.conf')).toBe(two);

    // WHEN nginx -t refuses a generation: THEN nothing is reloaded, and the answer says why
    p.pod.write('nginx-t-error', '2026/11/30 00:00:00 [emerg] 42#42: duplicate "10.99.0.3:5432" address and port pair in /tmp/x/nginx.conf.new:54\nnginx: configuration file test failed\n');
    const g5 = p.mount(three);
    expect(await p.request(g5)).toBe(`${g5} failed nginx -t: duplicate "10.99.0.3:5432" address and port pair in /tmp/x/nginx.conf.new:54`);
    expect(p.file('run', 'nginx.conf')).toBe(two);
    p.pod.remove('nginx-t-error');

    // WHEN a SIGHUP starts no workers (nginx keeps its configuration silently): THEN the
    // script notices, puts back the file nginx serves, and says why
    p.pod.write('nginx-ignores-hup', '');
    writeFileSync(p.path('run', 'reload.log'), '');
    const g6 = p.mount(three);
    expect(await p.request(g6)).toBe(`${g6} failed reload: no new workers within 5 s (nginx logged no reason)`);
    expect(p.file('run', 'nginx.conf')).toBe(two);
    p.pod.remove('nginx-ignores-hup');

    // WHEN a request names something that is not a generation: THEN it is not one; one whose files are gone is said so
    writeFileSync(p.path('share', 'agent-out', 'reload-request'), '../../etc 0123456789abcdef\n');
    await new Promise((r) => setTimeout(r, 1000));
    expect(p.file('share', 'nginx-out', 'reload-result')).toMatch(new RegExp(`^${g6.replace(/\./g, '\\.')} `));
    expect(await p.request('..2026_01_01_00_00_00.9')).toBe('..2026_01_01_00_00_00.9 failed its files are gone (the kubelet mounted a newer configuration)');

    // WHEN the kubelet stops the container: THEN nginx gets SIGTERM, and the script ends with it
    p.pod.clearCalls();
    p.script!.child.kill('SIGTERM');
    expect(await p.script!.exited).toBe(0);
    expect(p.pod.calls()).toEqual(['nginx SIGTERM']);
  }, 60_000);

  test('with metrics, renames the sessions log for the agent, deletes it once the agent counted it, empties the log while it waits', async () => {
    // GIVEN the rotation at 200 bytes and the drop at 1000
    const p = newPod(spec({ metrics: METRICS }));
    p.mount(p.rendered());
    p.start({ POD_IP: '10.244.0.2', SESSIONS_LOG_ROTATE_BYTES: '200', SESSIONS_LOG_DROP_BYTES: '1000' });
    await until('nginx to start', () => p.pod.calls().length > 0, () => p.script!.out);
    const out = p.path('share', 'nginx-out');
    const log = join(out, 'sessions.log');
    const renamed = () => readdirSync(out).filter((f) => /^sessions\..+\.log$/.test(f));
    // WHEN the log passes 200 bytes: THEN sessions.<token>.log, and nginx reopens its logs (SIGUSR1)
    writeFileSync(log, '10.99.0.1:5432 200\n'.repeat(12));
    await until('the rotation', () => renamed().length === 1, () => p.script!.out);
    const first = renamed()[0];
    expect(first).toMatch(/^sessions\.[0-9a-z]+-1\.log$/);
    await until('SIGUSR1', () => p.pod.calls().includes('nginx SIGUSR1'), () => p.script!.out);
    await until('the log line', () => p.script!.out.includes(`start-nginx: rotated the sessions log at 228 bytes: the agent counts ${first}, then it is deleted`), () => p.script!.out);
    expect(readFileSync(join(out, first), 'utf-8')).toBe('10.99.0.1:5432 200\n'.repeat(12));
    // WHEN the agent has not counted it and the new log passes 1000 bytes: THEN it is emptied, and the script says so
    writeFileSync(log, '10.99.0.1:5432 200\n'.repeat(60));
    await until('the log to be emptied', () => /start-nginx: emptied .*sessions\.log \(1140 bytes\): the agent has not counted .*sessions\..*\.log/.test(p.script!.out), () => p.script!.out);
    expect(readFileSync(log, 'utf-8')).toBe('');
    expect(p.pod.calls().filter((c) => c === 'nginx SIGUSR1')).toHaveLength(1);
    // WHEN the agent notes another token: THEN nothing is deleted; its own token: THEN the file goes, and the next rotation comes
    writeFileSync(join(p.path('share', 'agent-out'), 'sessions-read'), 'ffff-9\n');
    await new Promise((r) => setTimeout(r, 700));
    expect(renamed()).toEqual([first]);
    writeFileSync(join(p.path('share', 'agent-out'), 'sessions-read.tmp'), `${first.slice(9, -4)}\n`);
    renameSync(join(p.path('share', 'agent-out'), 'sessions-read.tmp'), join(p.path('share', 'agent-out'), 'sessions-read'));
    writeFileSync(log, '10.99.0.1:5432 200\n'.repeat(12));
    await until('the second rotation', () => renamed().length === 1 && renamed()[0] !== first, () => p.script!.out);
    expect(renamed()[0]).toMatch(/^sessions\.[0-9a-z]+-2\.log$/);
  }, 30_000);
}
