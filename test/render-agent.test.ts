/**
 * The agent's script, run for real (busybox sh) against a ConfigMap volume in
 * the kubelet's layout, with a stand-in init.sh that records what it is asked
 * to do and a stand-in for nginx's answers. The end-to-end suite runs it with
 * the real init.sh, WireGuard and nginx; this test pins its decisions: apply,
 * reject, roll back, and re-apply when a preshared key's Secret changes.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gatewaySpec } from './spec-fixtures';
import { renderAgentScript } from '../src/_render-agent';

const SHELLS: string[][] = [['sh'], ['busybox', 'sh']];

describe('renderAgentScript', () => {
  test.each(SHELLS)('is valid sh (%s)', (...shell) => {
    const dir = mkdtempSync(join(tmpdir(), 'wggw-sh-'));
    writeFileSync(join(dir, 'agent.sh'), renderAgentScript(gatewaySpec()));
    execFileSync(shell[0], [...shell.slice(1), '-n', join(dir, 'agent.sh')]);
  });

  test('applies live changes only with configUpdates LIVE', () => {
    expect(renderAgentScript(gatewaySpec())).toContain('\nLIVE=1\n');
    expect(renderAgentScript(gatewaySpec({ liveUpdates: false }))).toContain('\nLIVE=0\n');
  });
});

describe('agent.sh (busybox sh) with a stand-in init.sh and nginx', () => {
  let dir: string;
  let agent: ChildProcess | undefined;
  let log = '';

  /** A new ConfigMap generation whose init.sh records its calls (and fails `check` if asked); swapped in. */
  let n = 0;
  const generation = (id: string, opts: { checkFails?: boolean } = {}): string => {
    const gen = `..2026_11_30_00_00_0${n++}.1`;
    const g = join(dir, 'config', gen);
    mkdirSync(g);
    writeFileSync(join(g, 'config-id'), `${id}\n`);
    writeFileSync(join(g, 'wg0.conf'), `# ${id}\n`);
    writeFileSync(join(g, 'init.sh'), [
      'MODE=$1',
      `echo "$MODE $(cat "$CONFIG_DIR/config-id")" >> ${join(dir, 'calls')}`,
      opts.checkFails ? 'if [ "$MODE" = check ]; then echo "check: wg0.conf is not what the library wrote (line 3); nothing applied" >&2; exit 1; fi' : '',
      'if [ "$MODE" = apply ]; then echo "apply: wg0 has 1 service address(es) and 1 peer(s) (+0 -0 peers); MTU 1420"; fi',
      '',
    ].join('\n'));
    rmSync(join(dir, 'config', '..data'), { force: true });
    symlinkSync(gen, join(dir, 'config', '..data'));
    return gen;
  };
  const until = async (what: string, ok: () => boolean, ms = 8000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent log:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const calls = () => readFileSync(join(dir, 'calls'), 'utf-8').split('\n').filter((l) => l && !l.startsWith('prune'));
  const request = () => { try { return readFileSync(join(dir, 'state', 'reload-request'), 'utf-8').trim(); } catch { return ''; } };
  /** Stands in for start-nginx.sh: answers the next request for GEN. */
  const answer = async (gen: string, status: string) => {
    await until(`a reload request for ${gen}`, () => request().startsWith(`${gen} `));
    writeFileSync(join(dir, 'state', 'reload-result'), `${gen} ${status}\n`);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wggw-agent-'));
    for (const d of ['config', 'state', 'agent', 'psk', 'psk/psk-0123', 'psk/psk-0123/..k1']) mkdirSync(join(dir, d));
    symlinkSync('..k1', join(dir, 'psk', 'psk-0123', '..data'));
    writeFileSync(join(dir, 'calls'), '');
  });

  afterAll(() => {
    agent?.kill('SIGKILL');
  });

  test('applies, re-applies on a rotated preshared key, rolls back what nginx refuses, rejects what does not check', async () => {
    // GIVEN the configuration the pod started with
    const g1 = generation('1111111111111111aaaa');
    writeFileSync(join(dir, 'agent.sh'), renderAgentScript(gatewaySpec()));
    agent = spawn('busybox', ['sh', join(dir, 'agent.sh')], {
      env: { PATH: process.env.PATH, CONFIG_DIR: join(dir, 'config'), STATE_DIR: join(dir, 'state'), AGENT_DIR: join(dir, 'agent'), PSK_DIR: join(dir, 'psk') },
    });
    agent.stdout!.on('data', (d) => { log += d; appendFileSync(join(dir, 'agent.log'), d); });
    agent.stderr!.on('data', (d) => { log += d; });
    // WHEN nginx answers its request
    await answer(g1, 'ok already serving it');
    // THEN it is applied and kept
    await until('config 1 applied', () => log.includes('agent: config 1111111111111111 applied in '));
    expect(calls()).toEqual(['check 1111111111111111aaaa', 'apply 1111111111111111aaaa']);
    expect(readFileSync(join(dir, 'agent', 'good', 'config-id'), 'utf-8')).toBe('1111111111111111aaaa\n');

    // WHEN the kubelet updates a preshared key's Secret volume (same ConfigMap)
    mkdirSync(join(dir, 'psk', 'psk-0123', '..k2'));
    rmSync(join(dir, 'psk', 'psk-0123', '..data'));
    symlinkSync('..k2', join(dir, 'psk', 'psk-0123', '..data'));
    // THEN the same configuration is applied again (init.sh sets every preshared key)
    await until('the re-apply', () => calls().length === 4);
    expect(calls().slice(2)).toEqual(['check 1111111111111111aaaa', 'apply 1111111111111111aaaa']);

    // WHEN a new configuration applies to wg0 but nginx refuses it
    const g2 = generation('2222222222222222bbbb');
    await answer(g2, 'failed nginx -t: "stream" directive is duplicate');
    // THEN wg0 is put back to the last configuration that applied, and the log says why
    await until('the rollback', () => log.includes('agent: config 2222222222222222 not applied'));
    expect(log).toContain('agent: config 2222222222222222 not applied: nginx: nginx -t: "stream" directive is duplicate; wg0 restored to config 1111111111111111\n');
    await until('the rollback apply', () => calls().length === 7);
    expect(calls().slice(4)).toEqual(['check 2222222222222222bbbb', 'apply 2222222222222222bbbb', 'apply 1111111111111111aaaa']);

    // WHEN a configuration does not pass init.sh check
    generation('3333333333333333cccc', { checkFails: true });
    // THEN nothing is applied, and the log says why and what is still served
    await until('the rejection', () => log.includes('agent: config 3333333333333333 rejected'));
    expect(log).toContain('agent: config 3333333333333333 rejected, nothing applied: check: wg0.conf is not what the library wrote (line 3); nothing applied; still serving config 1111111111111111\n');
    expect(calls().slice(7)).toEqual(['check 3333333333333333cccc']);

    // WHEN the kubelet stops the container
    const exited = new Promise<number | null>((resolve) => agent!.on('exit', (code) => resolve(code)));
    agent.kill('SIGTERM');
    // THEN it says so and exits 0
    expect(await exited).toBe(0);
    expect(log).toMatch(/agent: stopping\n$/);
  }, 60_000);
});

describe('agent.sh with metrics (busybox sh): counts each change\'s outcome from its log line, writes metrics.sh\'s output every 5 s', () => {
  let dir: string;
  let agent: ChildProcess | undefined;
  let log = '';
  let n = 0;
  const METRICS = { port: 9586, refreshSeconds: 5, version: '1.2.3' };

  /** A generation whose metrics.sh prints the config id it runs from and the agent's counts. */
  const generation = (id: string, opts: { checkFails?: boolean } = {}): string => {
    const gen = `..2026_11_30_00_00_1${n++}.1`;
    const g = join(dir, 'config', gen);
    mkdirSync(g);
    writeFileSync(join(g, 'config-id'), `${id}\n`);
    writeFileSync(join(g, 'wg0.conf'), `# ${id}\n`);
    writeFileSync(join(g, 'init.sh'), opts.checkFails ? 'if [ "$1" = check ]; then echo "check: no" >&2; exit 1; fi\n' : 'echo "$1: ok"\n');
    writeFileSync(join(g, 'metrics.sh'), 'echo "served $(head -c 4 "$APPLIED_DIR/config-id") reloads $(cat "$AGENT_DIR/reloads" 2>/dev/null | cut -d" " -f1-3)"\n');
    rmSync(join(dir, 'config', '..data'), { force: true });
    symlinkSync(gen, join(dir, 'config', '..data'));
    return gen;
  };
  const until = async (what: string, ok: () => boolean, ms = 15000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent log:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const metrics = () => { try { return readFileSync(join(dir, 'state', 'metrics.prom'), 'utf-8').trim(); } catch { return ''; } };
  const answer = async (gen: string, status: string) => {
    await until(`a reload request for ${gen}`, () => {
      try { return readFileSync(join(dir, 'state', 'reload-request'), 'utf-8').startsWith(`${gen} `); } catch { return false; }
    });
    writeFileSync(join(dir, 'state', 'reload-result'), `${gen} ${status}\n`);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wggw-agent-metrics-'));
    for (const d of ['config', 'state', 'agent', 'psk']) mkdirSync(join(dir, d));
  });

  afterAll(() => {
    agent?.kill('SIGKILL');
  });

  test('applied, failed and rejected changes are counted; metrics.sh runs from the copy that applied; the loop ends with the agent', async () => {
    // GIVEN the configuration the pod started with
    const g1 = generation('1111aaaa');
    writeFileSync(join(dir, 'agent.sh'), renderAgentScript(gatewaySpec({ metrics: METRICS })));
    agent = spawn('busybox', ['sh', join(dir, 'agent.sh')], {
      env: { PATH: process.env.PATH, CONFIG_DIR: join(dir, 'config'), STATE_DIR: join(dir, 'state'), AGENT_DIR: join(dir, 'agent'), PSK_DIR: join(dir, 'psk') },
    });
    agent.stdout!.on('data', (d) => { log += d; });
    agent.stderr!.on('data', (d) => { log += d; });
    // THEN metrics come from the configuration the pod started with, before anything applied
    await until('the first metrics', () => metrics() !== '');
    expect(metrics()).toBe('served 1111 reloads');
    // WHEN the start configuration applies
    await answer(g1, 'ok already serving it');
    await until('one applied', () => metrics() === 'served 1111 reloads 1 0 0');
    // WHEN a change applies to wg0 but nginx refuses it: counted as failed, still served from 1111
    const g2 = generation('2222bbbb');
    await answer(g2, 'failed nginx -t: broken');
    await until('one failed', () => metrics() === 'served 1111 reloads 1 0 1');
    // WHEN a change does not check: counted as rejected
    generation('3333cccc', { checkFails: true });
    await until('one rejected', () => metrics() === 'served 1111 reloads 1 1 1');
    // WHEN a good change applies: metrics.sh now runs from its copy
    const g4 = generation('4444dddd');
    await answer(g4, 'ok reloaded, new workers 1 2');
    await until('served from 4444', () => metrics() === 'served 4444 reloads 2 1 1');
    expect(readFileSync(join(dir, 'agent', 'good', 'metrics.sh'), 'utf-8')).toContain('served');
    const last = Number(readFileSync(join(dir, 'agent', 'reloads'), 'utf-8').split(' ')[3]);
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(15);

    // WHEN the kubelet stops the container: THEN the metrics loop ends too (no new file after it)
    const exited = new Promise<number | null>((resolve) => agent!.on('exit', (code) => resolve(code)));
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    rmSync(join(dir, 'state', 'metrics.prom'));
    await new Promise((r) => setTimeout(r, 6000));
    expect(metrics()).toBe('');
  }, 90_000);

  test('with configUpdates RESTART the agent applies nothing, and metrics come from the configuration the pod started with', async () => {
    for (const d of ['state', 'agent']) {
      rmSync(join(dir, d), { recursive: true, force: true });
      mkdirSync(join(dir, d));
    }
    log = '';
    generation('5555eeee');
    writeFileSync(join(dir, 'agent.sh'), renderAgentScript(gatewaySpec({ metrics: METRICS, liveUpdates: false })));
    // Its own process group: the agent, its metrics loop and its sleeps go together, as in a container.
    agent = spawn('busybox', ['sh', join(dir, 'agent.sh')], {
      env: { PATH: process.env.PATH, CONFIG_DIR: join(dir, 'config'), STATE_DIR: join(dir, 'state'), AGENT_DIR: join(dir, 'agent'), PSK_DIR: join(dir, 'psk') },
      detached: true,
    });
    agent.stdout!.on('data', (d) => { log += d; });
    await until('the metrics', () => metrics() !== '');
    expect(metrics()).toBe('served 5555 reloads');
    expect(log).toContain('agent: configUpdates RESTART: a configuration change rolls the pod; serving config 5555eeee');
    process.kill(-agent.pid!, 'SIGKILL');
  }, 30_000);
});
