/**
 * agent.sh's decisions, against a ConfigMap volume in the kubelet's layout:
 * with a stand-in init.sh in its code directory that records what it is asked
 * to do (and fails a mode when the configuration holds "<mode>-fails"), and a
 * stand-in for nginx's answers (the test writes them, and plants links and
 * FIFOs where nginx could); then with the real init.sh and stand-ins for ip,
 * wg and iptables, to show that the copy the agent keeps is what init.sh and
 * the readiness probe need. The unit tier runs these cases under the host's
 * sh, the system tier under busybox sh and dash.
 */
import { execFileSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { configFiles, mountGeneration, spec } from './pod-config';
import { FakePod, Running, Shell, stop, until } from '../stand-ins';
import { TEST_SERVER_PRIVATE_KEY } from '../util';

const METRICS = { port: 9586, refreshSeconds: 1, version: '1.2.3' };
const ASSETS = join(__dirname, '..', '..', 'assets');

/** A pod with the agent's directories; generations are mounted at pod.dir/config. */
class AgentPod {
  public readonly pod = new FakePod();
  public readonly config = join(this.pod.dir, 'config');
  public agent?: Running;
  private n = 0;
  private stopUptime = this.pod.tickUptime();

  constructor(private readonly shell: Shell, realInit = false) {
    for (const d of ['config', 'code', 'agent', 'agent-out', 'nginx-out', 'psk']) mkdirSync(join(this.pod.dir, d));
    if (realInit) {
      for (const f of ['init.sh', 'net.awk']) copyFileSync(join(ASSETS, f), this.path('code', f));
    } else {
      writeFileSync(this.path('code', 'init.sh'), [
        `echo "$1 $(cat "$CONFIG_DIR/config-id")" >> ${this.path('calls')}`,
        'if [ -f "$CONFIG_DIR/$1-fails" ]; then echo "$1: $(cat "$CONFIG_DIR/$1-fails")" >&2; exit 1; fi',
        'case $1 in',
        '  restrict) echo "restrict: wg0 has 1 service address(es) and 1 peer(s) (+0 -1 peers; 1 wait for nginx); MTU 1420; the packet filter admits 1 route(s)" ;;',
        '  apply) echo "apply: wg0 has 1 service address(es) and 2 peer(s) (+1 -0 peers); MTU 1420; the packet filter admits 1 route(s)" ;;',
        'esac',
        '',
      ].join('\n'));
    }
    writeFileSync(this.path('code', 'metrics.sh'), 'echo "served $(head -c 4 "$APPLIED_DIR/config-id") reloads $(cat "$AGENT_DIR/reloads" 2>/dev/null | cut -d" " -f1-3)"\n');
  }

  public path(d: string, f = ''): string {
    return join(this.pod.dir, d, f);
  }

  /** A new generation of the configuration; `fails` names the init.sh modes that fail on it, with their message. */
  public generation(id: string, opts: { fails?: Record<string, string>; metrics?: boolean; liveUpdates?: boolean } = {}): string {
    const s = spec({ metrics: opts.metrics ? METRICS : undefined, liveUpdates: opts.liveUpdates ?? true });
    return mountGeneration(this.config, `..2026_11_30_00_00_${String(this.n++).padStart(2, '0')}.1`, {
      ...configFiles(s, id),
      ...Object.fromEntries(Object.entries(opts.fails ?? {}).map(([mode, why]) => [`${mode}-fails`, why])),
    });
  }

  public start(env: Record<string, string> = {}): Running {
    this.agent = this.pod.start('agent.sh', [], this.env(env), this.shell);
    return this.agent;
  }

  public env(more: Record<string, string> = {}): Record<string, string> {
    return {
      CONFIG_DIR: this.config,
      CODE_DIR: this.path('code'),
      AGENT_DIR: this.path('agent'),
      AGENT_OUT: this.path('agent-out'),
      NGINX_OUT: this.path('nginx-out'),
      PSK_DIR: this.path('psk'),
      ...more,
    };
  }

  public calls(): string[] {
    return existsSync(this.path('calls')) ? readFileSync(this.path('calls'), 'utf-8').split('\n').filter((l) => l && !l.startsWith('prune')) : [];
  }

  public request(): string {
    try { return readFileSync(this.path('agent-out', 'reload-request'), 'utf-8').trim(); } catch { return ''; }
  }

  /** Stands in for start-nginx.sh: waits for the request for GEN, then writes TEXT as its answer. */
  public async answer(gen: string, status: string): Promise<void> {
    await until(`a reload request for ${gen}`, () => this.request().startsWith(`${gen} `), () => this.log());
    writeFileSync(this.path('nginx-out', 'reload-result.tmp'), `${gen} ${status}\n`);
    rmSync(this.path('nginx-out', 'reload-result'), { force: true });
    renameSync(this.path('nginx-out', 'reload-result.tmp'), this.path('nginx-out', 'reload-result'));
  }

  public log(): string {
    return this.agent?.out ?? '';
  }

  public async logged(what: string, text: string): Promise<void> {
    await until(what, () => this.log().includes(text), () => `agent log:\n${this.log()}`, 15_000);
  }

  public metrics(): string {
    try { return readFileSync(this.path('agent-out', 'metrics.prom'), 'utf-8').trim(); } catch { return ''; }
  }

  public end(): void {
    this.stopUptime();
    if (this.agent !== undefined) stop(this.agent);
  }
}

export function agentShCases(shell: Shell): void {
  let pods: AgentPod[] = [];
  const newPod = (realInit = false) => {
    const p = new AgentPod(shell, realInit);
    pods.push(p);
    return p;
  };
  afterEach(() => {
    pods.forEach((p) => p.end());
    pods = [];
  });

  test('applies in order (check, restrict, nginx, apply), re-applies on a rotated preshared key, rejects what does not check', async () => {
    // GIVEN the configuration the pod started with
    const p = newPod();
    const g1 = p.generation('1111111111111111aaaa');
    mkdirSync(p.path('psk', 'psk-0123/..k1'), { recursive: true });
    symlinkSync('..k1', p.path('psk', 'psk-0123/..data'));
    p.start();
    // WHEN nginx answers its request
    await until('the request', () => p.request() === `${g1} 1111111111111111`, () => p.log());
    // THEN nothing has added a peer before nginx serves the configuration
    expect(p.calls()).toEqual(['check 1111111111111111aaaa', 'restrict 1111111111111111aaaa']);
    await p.answer(g1, 'ok already serving it');
    // THEN it is applied and kept: exactly what init.sh and metrics.sh read
    await p.logged('config 1 applied', 'agent: config 1111111111111111 applied in ');
    expect(p.log()).toMatch(/agent: config 1111111111111111 applied in \d+ ms: wg0 has 1 service address\(es\) and 2 peer\(s\) \(\+1 -0 peers\); MTU 1420; the packet filter admits 1 route\(s\); nginx: already serving it\n/);
    expect(p.calls()).toEqual(['check 1111111111111111aaaa', 'restrict 1111111111111111aaaa', 'apply 1111111111111111aaaa']);
    expect(readFileSync(p.path('agent', 'good/config-id'), 'utf-8')).toBe('1111111111111111aaaa\n');
    expect(readdirSync(p.path('agent', 'good')).sort()).toEqual(['config-id', 'live.env', 'peers.tsv', 'routes.tsv', 'wg0.conf']);
    // start.env as it was when the agent started: what init.sh checks every change against
    expect(readFileSync(p.path('agent', 'start.env'), 'utf-8')).toContain('service_network=10.99.0.0/24\n');

    // WHEN the kubelet updates a preshared key's Secret volume (same ConfigMap)
    mkdirSync(p.path('psk', 'psk-0123/..k2'));
    rmSync(p.path('psk', 'psk-0123/..data'));
    symlinkSync('..k2', p.path('psk', 'psk-0123/..data'));
    // THEN the same configuration is applied again (init.sh sets every preshared key)
    await p.answer(g1, 'ok already serving it');
    await until('the re-apply', () => p.calls().length === 6, () => p.log());
    expect(p.calls().slice(3)).toEqual(['check 1111111111111111aaaa', 'restrict 1111111111111111aaaa', 'apply 1111111111111111aaaa']);

    // WHEN a configuration does not pass init.sh check
    p.generation('3333333333333333cccc', { fails: { check: 'wg0.conf is not what the library wrote (line 3); nothing applied' } });
    // THEN nothing is applied, and the log says why and what is still served
    await p.logged('the rejection', 'agent: config 3333333333333333 rejected');
    expect(p.log()).toContain('agent: config 3333333333333333 rejected, nothing applied: check: wg0.conf is not what the library wrote (line 3); nothing applied; still serving config 1111111111111111\n');
    expect(p.calls().slice(6)).toEqual(['check 3333333333333333cccc']);

    // WHEN the kubelet stops the container
    p.agent!.child.kill('SIGTERM');
    // THEN it says so and exits 0
    expect(await p.agent!.exited).toBe(0);
    expect(p.log()).toMatch(/agent: stopping\n$/);
  }, 60_000);

  test('removals stick: nginx refusing a change puts nothing back; the peers it lacks stay off wg0, the ones it adds wait', async () => {
    const p = newPod();
    const g1 = p.generation('1111111111111111aaaa');
    p.start();
    await p.answer(g1, 'ok already serving it');
    await p.logged('config 1 applied', 'agent: config 1111111111111111 applied in ');
    // WHEN a change (which removes a peer) reaches wg0 but nginx refuses it
    const g2 = p.generation('2222222222222222bbbb');
    await p.answer(g2, 'failed nginx -t: unknown directive "bogus" in /tmp/nginx/nginx.conf.new:12');
    // THEN the log says why, and what wg0 has: no configuration is put back
    await p.logged('the refusal', 'agent: config 2222222222222222 not applied');
    expect(p.log()).toContain('agent: config 2222222222222222 not applied: nginx: nginx -t: unknown directive "bogus" in /tmp/nginx/nginx.conf.new:12; '
      + 'wg0 has only the peers both it and config 1111111111111111 have; nginx serves config 1111111111111111 '
      + '(wg0 has 1 service address(es) and 1 peer(s) (+0 -1 peers; 1 wait for nginx); MTU 1420; the packet filter admits 1 route(s))\n');
    await new Promise((r) => setTimeout(r, 1500));
    expect(p.calls().slice(3)).toEqual(['check 2222222222222222bbbb', 'restrict 2222222222222222bbbb']);
    // The probe and prune still use the configuration nginx serves.
    expect(readFileSync(p.path('agent', 'good/config-id'), 'utf-8')).toBe('1111111111111111aaaa\n');

    // WHEN restrict itself fails: THEN nothing is asked of nginx, and nothing is put back
    p.generation('4444444444444444dddd', { fails: { restrict: 'wg syncconf wg0 failed: Unable to modify interface: Operation not permitted' } });
    await p.logged('the wg0 failure', 'agent: config 4444444444444444 failed on wg0');
    expect(p.log()).toContain('agent: config 4444444444444444 failed on wg0: restrict: wg syncconf wg0 failed: Unable to modify interface: Operation not permitted; '
      + 'wg0 keeps what it had; nginx serves config 1111111111111111\n');
    expect(p.request()).toBe(`${g2} 2222222222222222`);

    // WHEN nginx serves a change but adding its peers fails: THEN nginx's configuration is kept, and the log says so
    const g5 = p.generation('5555555555555555eeee', { fails: { apply: 'wg syncconf wg0 failed: No buffer space available' } });
    await p.answer(g5, 'ok reloaded, new workers 7 8');
    await p.logged('the apply failure', 'agent: config 5555555555555555: nginx serves it');
    expect(p.log()).toContain('agent: config 5555555555555555: nginx serves it, but adding its new peers to wg0 failed: apply: wg syncconf wg0 failed: No buffer space available\n');
    expect(readFileSync(p.path('agent', 'good/config-id'), 'utf-8')).toBe('5555555555555555eeee\n');
    expect(p.calls().filter((c) => c.includes('1111'))).toEqual(['check 1111111111111111aaaa', 'restrict 1111111111111111aaaa', 'apply 1111111111111111aaaa']);
  }, 60_000);

  test('gives up waiting for nginx after ANSWER_SECONDS: the peers the change drops stay off, the ones it adds wait', async () => {
    const p = newPod();
    p.generation('1111111111111111aaaa');
    p.start({ ANSWER_SECONDS: '2' });
    await p.logged('the timeout', 'agent: config 1111111111111111: nginx has not answered within 2 s (is its container running?); '
      + 'wg0 has only the peers both it and config of the pod\'s start have; nginx serves config of the pod\'s start');
    expect(p.calls()).toEqual(['check 1111111111111111aaaa', 'restrict 1111111111111111aaaa']);
  }, 40_000);

  test('reads nginx\'s answers as data: never through a link, never blocked by a FIFO, only its own generation, shown printable', async () => {
    const p = newPod();
    const g1 = p.generation('1111111111111111aaaa');
    // GIVEN an answer nginx could plant: a link to a file of the agent's that says "ok"
    writeFileSync(p.path('agent', 'fake-answer'), `${g1} ok\n`);
    symlinkSync(p.path('agent', 'fake-answer'), p.path('nginx-out', 'reload-result'));
    p.start();
    await until('the request', () => p.request().startsWith(`${g1} `), () => p.log());
    await new Promise((r) => setTimeout(r, 1500));
    // THEN it is not an answer
    expect(p.calls()).toEqual(['check 1111111111111111aaaa', 'restrict 1111111111111111aaaa']);
    // WHEN it is a FIFO that no one writes: THEN the agent does not block on it
    rmSync(p.path('nginx-out', 'reload-result'));
    execFileSync('mkfifo', [p.path('nginx-out', 'reload-result')]);
    await new Promise((r) => setTimeout(r, 1500));
    // WHEN an answer for another generation, then a long one with control characters for this one
    rmSync(p.path('nginx-out', 'reload-result'));
    writeFileSync(p.path('nginx-out', 'reload-result'), '..2026_11_30_00_00_99.1 ok\n');
    await new Promise((r) => setTimeout(r, 1000));
    expect(p.calls()).toEqual(['check 1111111111111111aaaa', 'restrict 1111111111111111aaaa']);
    writeFileSync(p.path('nginx-out', 'reload-result'), `${g1} failed \x1b[31mred\x07 ${'x'.repeat(1000)}\n`);
    // THEN it is taken (the agent was not blocked), and logged printable and cut short
    await p.logged('the refusal', 'agent: config 1111111111111111 not applied: nginx: ?[31mred? xxx');
    const line = p.log().split('\n').find((l) => l.includes('not applied'))!;
    expect(line).toMatch(/nginx: \?\[31mred\? x{190}; wg0 has only/);
    // AND the agent wrote nothing where nginx writes
    expect(readdirSync(p.path('nginx-out'))).toEqual(['reload-result']);
  }, 40_000);

  test('with metrics: counts each change\'s outcome; metrics.sh runs from its code directory on the copy that applied', async () => {
    // GIVEN the configuration the pod started with
    const p = newPod();
    const g1 = p.generation('1111aaaa', { metrics: true });
    p.start();
    // THEN metrics come from the configuration the pod started with, before anything applied
    await until('the first metrics', () => p.metrics() !== '', () => p.log());
    expect(p.metrics()).toBe('served 1111 reloads');
    // WHEN the start configuration applies
    await p.answer(g1, 'ok already serving it');
    await until('one applied', () => p.metrics() === 'served 1111 reloads 1 0 0', () => p.log() + p.metrics());
    // WHEN nginx refuses a change: counted as failed, still served from 1111
    const g2 = p.generation('2222bbbb', { metrics: true });
    await p.answer(g2, 'failed nginx -t: broken');
    await until('one failed', () => p.metrics() === 'served 1111 reloads 1 0 1', () => p.log() + p.metrics());
    // WHEN a change does not check: counted as rejected
    p.generation('3333cccc', { metrics: true, fails: { check: 'no' } });
    await until('one rejected', () => p.metrics() === 'served 1111 reloads 1 1 1', () => p.log() + p.metrics());
    // WHEN a good change applies: metrics.sh now runs on its copy
    const g4 = p.generation('4444dddd', { metrics: true });
    await p.answer(g4, 'ok reloaded, new workers 1 2');
    await until('served from 4444', () => p.metrics() === 'served 4444 reloads 2 1 1', () => p.log() + p.metrics());
    const last = Number(readFileSync(p.path('agent', 'reloads'), 'utf-8').split(' ')[3]);
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(15);

    // WHEN the kubelet stops the container: THEN the metrics loop ends too (no new file after it)
    p.agent!.child.kill('SIGTERM');
    expect(await p.agent!.exited).toBe(0);
    rmSync(p.path('agent-out', 'metrics.prom'));
    await new Promise((r) => setTimeout(r, 2500));
    expect(p.metrics()).toBe('');
  }, 90_000);

  test('with configUpdates RESTART the agent applies nothing, and metrics come from the configuration the pod started with', async () => {
    const p = newPod();
    p.generation('5555eeee', { metrics: true, liveUpdates: false });
    p.start();
    await until('the metrics', () => p.metrics() !== '', () => p.log());
    expect(p.metrics()).toBe('served 5555 reloads');
    expect(p.log()).toContain('agent: configUpdates RESTART: a configuration change rolls the pod; serving config 5555eeee');
    expect(p.calls()).toEqual([]);
  }, 30_000);

  test('fails at start, saying why, when start.env is not what the library writes', async () => {
    const p = newPod();
    const gen = p.generation('6666ffff');
    writeFileSync(join(p.config, gen, 'start.env'), 'live_updates=yes\nmetrics_port=\nmetrics_refresh_seconds=\n');
    const agent = p.start();
    expect(await agent.exited).toBe(1);
    expect(agent.out).toBe('agent: start.env: live_updates "yes" is neither 0 nor 1\n');
  });

  test('writes only into its own directories, never where nginx writes', async () => {
    const p = newPod();
    p.generation('7777aaaa', { metrics: true });
    p.start({ ANSWER_SECONDS: '1' });
    await until('the request and metrics', () => p.request() !== '' && p.metrics() !== '', () => p.log());
    await p.logged('the timeout', 'nginx has not answered within 1 s');
    expect(readdirSync(p.path('agent-out')).sort()).toEqual(['metrics.prom', 'reload-request']);
    expect(readdirSync(p.path('nginx-out'))).toEqual([]);
  }, 30_000);

  test('with the real init.sh: the copy it keeps is what init.sh needs, and the readiness probe runs from it', async () => {
    // GIVEN stand-ins for ip, wg and iptables with wg0 up (as the init container left it), nginx listening
    const p = newPod(true);
    const s = spec();
    const gen = mountGeneration(p.config, '..2026_11_30_00_00_00.1', configFiles(s, '7777777777777777gggg'));
    p.pod.write('link', 'POINTOPOINT,NOARP,UP,LOWER_UP');
    p.pod.write('wg-private-key', `${TEST_SERVER_PRIVATE_KEY}\n`);
    p.pod.write('wg-listen-port', '51820\n');
    p.pod.writeProc('sys/net/ipv4/ip_forward', '0\n');
    p.pod.tcp([['10.99.0.1:5432', '0A'], ['10.99.0.2:6379', '0A'], ['10.99.0.2:6380', '0A']]);
    const ready = () => p.pod.run('agent.sh', ['ready'], p.env(), shell);
    expect(ready().stdout).toBe('not ready: no configuration applied yet\n');
    // WHEN the agent applies it and nginx answers
    p.start();
    await p.answer(gen, 'ok already serving it');
    await p.logged('the apply', 'agent: config 7777777777777777 applied in ');
    // THEN wg0 has the service addresses, the filter is in place, and the probe passes from the kept copy
    expect(p.log()).toContain('ms: wg0 has 2 service address(es) and 2 peer(s) (+2 -0 peers); MTU 1420; the packet filter admits 3 route(s); nginx: already serving it\n');
    expect(p.pod.lines('addresses')).toEqual(['10.99.0.1', '10.99.0.2']);
    const r = ready();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ready: wg0 is up with its key on UDP 51820, 2 service address(es), the packet filter, nginx listens on 3 route(s)\n');
    writeFileSync(p.path('agent', 'good/routes.tsv'), `${readFileSync(p.path('agent', 'good/routes.tsv'), 'utf-8')}10.99.0.9\t80\tx.example.com\tnew\n`);
    expect(ready().stdout).toBe('not ready: wg0 lacks the service address 10.99.0.9\n');
  }, 30_000);
}
