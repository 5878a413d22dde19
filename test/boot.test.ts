/**
 * How every container starts (src/_boot.ts): the start program, run for real
 * under the host's sh, copies the scripts from the code ConfigMap into the
 * container's own directory, checks them against the sums its Deployment
 * names, and runs only a copy that matched; the code ConfigMap's name follows
 * the scripts' content.
 */
import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BOOT_PROGRAM, INIT_BOOT, NGINX_BOOT, agentBoot, bootCommand, codeConfigMapName, readinessCommand, sha256, sums } from '../src/_boot';

const SCRIPTS = {
  'init.sh': 'echo "init ran from $0 with $*"\n',
  'agent.sh': 'echo "agent ran from $0 with $*"\n',
  'start-nginx.sh': 'echo "nginx ran"\n',
  'net.awk': 'function ipv4(a) { return 1 }\n',
};

/** A code ConfigMap mount (`from`) with these scripts, and the container's directory to copy to. */
function dirs(scripts: Record<string, string> = SCRIPTS) {
  const root = mkdtempSync(join(tmpdir(), 'wggw-boot-'));
  const from = join(root, 'code');
  mkdirSync(from);
  for (const [f, text] of Object.entries(scripts)) writeFileSync(join(from, f), text);
  return { from, to: join(root, 'agent', 'code') };
}

const boot = (from: string, to: string, run: string, sumText: string, ...args: string[]) =>
  spawnSync('sh', ['-c', BOOT_PROGRAM, 'boot', from, to, run, sumText, ...args], { encoding: 'utf-8' });

describe('the start program', () => {
  test('copies the scripts it names, checks their sums, runs the copy with the container\'s arguments', () => {
    const { from, to } = dirs();
    const r = boot(from, to, 'agent.sh', sums(SCRIPTS, ['agent.sh', 'init.sh']), 'ready');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`agent ran from ${to}/agent.sh with ready\n`);
    expect(readFileSync(join(to, 'init.sh'), 'utf-8')).toBe(SCRIPTS['init.sh']);
    expect(existsSync(join(to, 'start-nginx.sh'))).toBe(false);
  });

  test('refuses to run anything when a script is not the one the Deployment names, and says which', () => {
    const { from, to } = dirs({ ...SCRIPTS, 'init.sh': 'echo "someone wrote the ConfigMap"\n' });
    const r = boot(from, to, 'agent.sh', sums(SCRIPTS, ['agent.sh', 'init.sh']));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^boot: init\.sh: FAILED\n/m);
    expect(r.stderr).toContain(`boot: the scripts in ${from} are not the ones this pod's Deployment names (SHA-256): not starting\n`);
  });

  test('refuses when a script is missing from the code ConfigMap', () => {
    const { from, to } = dirs({ 'agent.sh': SCRIPTS['agent.sh'] });
    const r = boot(from, to, 'agent.sh', sums(SCRIPTS, ['agent.sh', 'init.sh']));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^boot: init\.sh: FAILED/m);
    expect(r.stderr).toContain('not starting');
  });

  test('a copy left from an earlier start is replaced, never trusted', () => {
    const { from, to } = dirs();
    mkdirSync(to, { recursive: true });
    writeFileSync(join(to, 'init.sh'), 'echo "left over"\n');
    chmodSync(join(to, 'init.sh'), 0o644);
    const r = boot(from, to, 'init.sh', sums(SCRIPTS, ['init.sh']));
    expect(r.stdout).toBe(`init ran from ${to}/init.sh with \n`);
  });
});

describe('the containers\' commands', () => {
  test('each copies what it runs into a directory only it (or the init container) writes, and checks it', () => {
    expect(bootCommand(INIT_BOOT, SCRIPTS)).toEqual(['/bin/sh', '-c', BOOT_PROGRAM, 'boot', '/opt/wireguard-gateway', '/run/wireguard-agent/code', 'init.sh',
      `${sha256(SCRIPTS['init.sh'])}  init.sh\n${sha256(SCRIPTS['net.awk'])}  net.awk`]);
    expect(bootCommand(NGINX_BOOT, SCRIPTS).slice(4)).toEqual(['/opt/wireguard-gateway', '/tmp/nginx/code', 'start-nginx.sh',
      `${sha256(SCRIPTS['start-nginx.sh'])}  start-nginx.sh\n${sha256(SCRIPTS['net.awk'])}  net.awk`]);
    expect(agentBoot(false).copies).toEqual(['agent.sh', 'init.sh', 'net.awk']);
    expect(agentBoot(true).copies).toEqual(['agent.sh', 'init.sh', 'net.awk', 'metrics.sh']);
    expect(() => bootCommand(agentBoot(true), SCRIPTS)).toThrow('boot: no script metrics.sh in the code ConfigMap');
    expect(readinessCommand()).toEqual(['/bin/sh', '/run/wireguard-agent/code/agent.sh', 'ready']);
  });

  test('the code ConfigMap\'s name follows the scripts\' content, not the order they are given in', () => {
    const name = codeConfigMapName('gw', SCRIPTS);
    expect(name).toMatch(/^gw-code-[0-9a-f]{10}$/);
    expect(codeConfigMapName('gw', { 'start-nginx.sh': SCRIPTS['start-nginx.sh'], 'net.awk': SCRIPTS['net.awk'], 'agent.sh': SCRIPTS['agent.sh'], 'init.sh': SCRIPTS['init.sh'] })).toBe(name);
    expect(codeConfigMapName('gw', { ...SCRIPTS, 'init.sh': `${SCRIPTS['init.sh']}# changed\n` })).not.toBe(name);
  });
});
