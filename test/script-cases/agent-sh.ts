/**
 * agent.sh's decisions, against a ConfigMap volume in the kubelet's layout:
 * with a stand-in init.sh in each generation that records what it is asked to
 * do, and a stand-in for nginx's answers (the test writes them); then with the
 * real init.sh and stand-ins for ip and wg, to show that the copy the agent
 * keeps is what init.sh and the readiness probe need. The unit tier runs these
 * cases under the host's sh, the system tier under busybox sh and dash.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { configFiles, mountGeneration, spec } from './pod-config';
import { FakePod, Running, Shell, stop, until } from '../stand-ins';
import { TEST_SERVER_PRIVATE_KEY } from '../util';

const METRICS = { port: 9586, refreshSeconds: 1, version: '1.2.3' };

/** A pod with the agent's directories; generations are mounted at pod.dir/config. */
class AgentPod {
  public readonly pod = new FakePod();
  public readonly config = join(this.pod.dir, 'config');
  public agent?: Running;
  private n = 0;
  private stopUptime = this.pod.tickUptime();

  constructor(private readonly shell: Shell) {
    for (const d of ['config', 'state', 'agent', 'psk']) mkdirSync(join(this.pod.dir, d));
  }

  public path(d: string, f = ''): string {
    return join(this.pod.dir, d, f);
  }

  /**
   * A new generation whose init.sh is a stand-in that records "<mode> <config-id>"
   * (and fails check if asked), and whose metrics.sh prints what it runs from.
   */
  public generation(id: string, opts: { checkFails?: boolean; metrics?: boolean; liveUpdates?: boolean } = {}): string {
    const s = spec({ metrics: opts.metrics ? METRICS : undefined, liveUpdates: opts.liveUpdates ?? true });
    return mountGeneration(this.config, `..2026_11_30_00_00_${String(this.n++).padStart(2, '0')}.1`, {
      ...configFiles(s, id),
      'init.sh': [
        `echo "$1 $(cat "$CONFIG_DIR/config-id")" >> ${this.path('calls')}`,
        opts.checkFails ? 'if [ "$1" = check ]; then echo "check: wg0.conf is not what the library wrote (line 3); nothing applied" >&2; exit 1; fi' : '',
        'if [ "$1" = apply ]; then echo "apply: wg0 has 1 service address(es) and 1 peer(s) (+0 -0 peers); MTU 1420"; fi',
        '',
      ].join('\n'),
      ...(opts.metrics ? { 'metrics.sh': 'echo "served $(head -c 4 "$APPLIED_DIR/config-id") reloads $(cat "$AGENT_DIR/reloads" 2>/dev/null | cut -d" " -f1-3)"\n' } : {}),
    });
  }

  public start(env: Record<string, string> = {}): Running {
    this.agent = this.pod.start('agent.sh', [], {
      CONFIG_DIR: this.config, STATE_DIR: this.path('state'), AGENT_DIR: this.path('agent'), PSK_DIR: this.path('psk'), ...env,
    }, this.shell);
    return this.agent;
  }

  public calls(): string[] {
    return existsSync(this.path('calls')) ? readFileSync(this.path('calls'), 'utf-8').split('\n').filter((l) => l && !l.startsWith('prune')) : [];
  }

  public request(): string {
    try { return readFileSync(this.path('state', 'reload-request'), 'utf-8').trim(); } catch { return ''; }
  }

  /** Stands in for start-nginx.sh: answers the next request for GEN. */
  public async answer(gen: string, status: string): Promise<void> {
    await until(`a reload request for ${gen}`, () => this.request().startsWith(`${gen} `), () => this.log());
    writeFileSync(this.path('state', 'reload-result'), `${gen} ${status}\n`);
  }

  public log(): string {
    return this.agent?.out ?? '';
  }

  public async logged(what: string, text: string): Promise<void> {
    await until(what, () => this.log().includes(text), () => `agent log:\n${this.log()}`, 15_000);
  }

  public metrics(): string {
    try { return readFileSync(this.path('state', 'metrics.prom'), 'utf-8').trim(); } catch { return ''; }
  }

  public end(): void {
    this.stopUptime();
    if (this.agent !== undefined) stop(this.agent);
  }
}

export function agentShCases(shell: Shell): void {
  let pods: AgentPod[] = [];
  const newPod = () => {
    const p = new AgentPod(shell);
    pods.push(p);
    return p;
  };
  afterEach(() => {
    pods.forEach((p) => p.end());
    pods = [];
  });

  test('applies, re-applies on a rotated preshared key, rolls back what nginx refuses, rejects what does not check', async () => {
    // GIVEN the configuration the pod started with
    const p = newPod();
    const g1 = p.generation('1111111111111111aaaa');
    mkdirSync(p.path('psk', 'psk-0123/..k1'), { recursive: true });
    symlinkSync('..k1', p.path('psk', 'psk-0123/..data'));
    p.start();
    // WHEN nginx answers its request
    await p.answer(g1, 'ok already serving it');
    // THEN it is applied and kept: exactly what init.sh and metrics.sh read
    await p.logged('config 1 applied', 'agent: config 1111111111111111 applied in ');
    expect(p.calls()).toEqual(['check 1111111111111111aaaa', 'apply 1111111111111111aaaa']);
    expect(readFileSync(p.path('agent', 'good/config-id'), 'utf-8')).toBe('1111111111111111aaaa\n');
    expect(readdirSync(p.path('agent', 'good')).sort()).toEqual(['config-id', 'init.sh', 'live.env', 'peers.tsv', 'routes.tsv', 'wg0.conf']);

    // WHEN the kubelet updates a preshared key's Secret volume (same ConfigMap)
    mkdirSync(p.path('psk', 'psk-0123/..k2'));
    rmSync(p.path('psk', 'psk-0123/..data'));
    symlinkSync('..k2', p.path('psk', 'psk-0123/..data'));
    // THEN the same configuration is applied again (init.sh sets every preshared key)
    await until('the re-apply', () => p.calls().length === 4, () => p.log());
    expect(p.calls().slice(2)).toEqual(['check 1111111111111111aaaa', 'apply 1111111111111111aaaa']);

    // WHEN a new configuration applies to wg0 but nginx refuses it
    const g2 = p.generation('2222222222222222bbbb');
    await p.answer(g2, 'failed nginx -t: "stream" directive is duplicate');
    // THEN wg0 is put back to the last configuration that applied, and the log says why
    await p.logged('the rollback', 'agent: config 2222222222222222 not applied');
    expect(p.log()).toContain('agent: config 2222222222222222 not applied: nginx: nginx -t: "stream" directive is duplicate; wg0 restored to config 1111111111111111\n');
    await until('the rollback apply', () => p.calls().length === 7, () => p.log());
    expect(p.calls().slice(4)).toEqual(['check 2222222222222222bbbb', 'apply 2222222222222222bbbb', 'apply 1111111111111111aaaa']);

    // WHEN a configuration does not pass init.sh check
    p.generation('3333333333333333cccc', { checkFails: true });
    // THEN nothing is applied, and the log says why and what is still served
    await p.logged('the rejection', 'agent: config 3333333333333333 rejected');
    expect(p.log()).toContain('agent: config 3333333333333333 rejected, nothing applied: check: wg0.conf is not what the library wrote (line 3); nothing applied; still serving config 1111111111111111\n');
    expect(p.calls().slice(7)).toEqual(['check 3333333333333333cccc']);

    // WHEN the kubelet stops the container
    p.agent!.child.kill('SIGTERM');
    // THEN it says so and exits 0
    expect(await p.agent!.exited).toBe(0);
    expect(p.log()).toMatch(/agent: stopping\n$/);
  }, 60_000);

  test('gives up waiting for nginx after ANSWER_SECONDS: wg0 has the configuration, nginx loads it when it starts', async () => {
    const p = newPod();
    p.generation('1111111111111111aaaa');
    p.start({ ANSWER_SECONDS: '2' });
    await p.logged('the timeout', 'agent: config 1111111111111111: nginx has not answered within 2 s (is its container running?)');
    expect(p.calls()).toEqual(['check 1111111111111111aaaa', 'apply 1111111111111111aaaa']);
  }, 40_000);

  test('with metrics: counts each change\'s outcome from its log line; metrics.sh runs from the copy that applied', async () => {
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
    // WHEN a change applies to wg0 but nginx refuses it: counted as failed, still served from 1111
    const g2 = p.generation('2222bbbb', { metrics: true });
    await p.answer(g2, 'failed nginx -t: broken');
    await until('one failed', () => p.metrics() === 'served 1111 reloads 1 0 1', () => p.log() + p.metrics());
    // WHEN a change does not check: counted as rejected
    p.generation('3333cccc', { metrics: true, checkFails: true });
    await until('one rejected', () => p.metrics() === 'served 1111 reloads 1 1 1', () => p.log() + p.metrics());
    // WHEN a good change applies: metrics.sh now runs from its copy
    const g4 = p.generation('4444dddd', { metrics: true });
    await p.answer(g4, 'ok reloaded, new workers 1 2');
    await until('served from 4444', () => p.metrics() === 'served 4444 reloads 2 1 1', () => p.log() + p.metrics());
    expect(readdirSync(p.path('agent', 'good')).sort()).toEqual(['config-id', 'init.sh', 'live.env', 'metrics.sh', 'peers.tsv', 'routes.tsv', 'wg0.conf']);
    const last = Number(readFileSync(p.path('agent', 'reloads'), 'utf-8').split(' ')[3]);
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(15);

    // WHEN the kubelet stops the container: THEN the metrics loop ends too (no new file after it)
    p.agent!.child.kill('SIGTERM');
    expect(await p.agent!.exited).toBe(0);
    rmSync(p.path('state', 'metrics.prom'));
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

  test('with the real init.sh: the copy it keeps is what init.sh needs, and the readiness probe runs from it', async () => {
    // GIVEN stand-ins for ip and wg with wg0 up (as the init container left it), nginx listening
    const p = newPod();
    const s = spec();
    const gen = mountGeneration(p.config, '..2026_11_30_00_00_00.1', { ...configFiles(s, '7777777777777777gggg'), 'init.sh': readFileSync(join(__dirname, '..', '..', 'assets', 'init.sh'), 'utf-8') });
    p.pod.write('link', 'POINTOPOINT,NOARP,UP,LOWER_UP');
    p.pod.write('wg-private-key', `${TEST_SERVER_PRIVATE_KEY}\n`);
    p.pod.write('wg-listen-port', '51820\n');
    p.pod.writeProc('sys/net/ipv4/ip_forward', '0\n');
    p.pod.tcp([['10.99.0.1:5432', '0A'], ['10.99.0.2:6379', '0A'], ['10.99.0.2:6380', '0A']]);
    const ready = () => p.pod.run('agent.sh', ['ready'], { CONFIG_DIR: p.config, AGENT_DIR: p.path('agent') }, shell);
    expect(ready().stdout).toBe('not ready: no configuration applied yet\n');
    // WHEN the agent applies it and nginx answers
    p.start();
    await p.answer(gen, 'ok already serving it');
    await p.logged('the apply', 'agent: config 7777777777777777 applied in ');
    // THEN wg0 has the service addresses, and the probe passes from the kept copy
    expect(p.log()).toContain('ms: wg0 has 2 service address(es) and 2 peer(s) (+2 -0 peers); MTU 1420; nginx: already serving it\n');
    expect(p.pod.lines('addresses')).toEqual(['10.99.0.1', '10.99.0.2']);
    const r = ready();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ready: wg0 is up with its key on UDP 51820, 2 service address(es), nginx listens on 3 route(s)\n');
    appendFileSync(p.path('agent', 'good/routes.tsv'), '10.99.0.9\t80\tx.example.com\tnew\n');
    expect(ready().stdout).toBe('not ready: wg0 lacks the service address 10.99.0.9\n');
  }, 30_000);
}
