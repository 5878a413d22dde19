/**
 * The shipped scripts (assets/*.sh) and the one source of the contract between
 * them (src/_contract.ts): every default a script gives a variable is the
 * contract's value, every file a script names is one the contract knows, the
 * agent keeps what init.sh and metrics.sh read, and the package ships the
 * scripts that the code ConfigMap carries, byte for byte.
 */
import { execFileSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { codeData, configData, synth, testGateway } from './util';
import { ASSETS_DIR, scriptText } from '../src/_assets';
import { AGENT_OUT_FILES, APPLIED_FILES, FILES, NGINX_OUT_FILES, RUN_FILES, SCRIPTS, SCRIPT_DEFAULTS, SCRIPT_FILES } from '../src/_contract';

const ROOT = join(__dirname, '..');
const text = (script: string) => readFileSync(join(ASSETS_DIR, script), 'utf-8');
/** The shell scripts (net.awk is awk text they read). */
const SH_SCRIPTS = SCRIPTS.filter((s) => s.endsWith('.sh'));

/** The `NAME="${NAME:-default}"` lines of a script: NAME -> default, as written. */
function defaults(script: string): Map<string, string> {
  return new Map([...text(script).matchAll(/^([A-Z][A-Z0-9_]*)="\$\{\1:-([^}]*)\}"$/gm)].map((m) => [m[1], m[2]]));
}

/** A default with its `$NAME` references replaced by the contract's values. */
function resolve(value: string): string {
  return value.replace(/\$\{?([A-Z][A-Z0-9_]*)\}?/g, (_m, name: string) => {
    if (SCRIPT_DEFAULTS[name] === undefined) throw new Error(`a default refers to $${name}, which is not in SCRIPT_DEFAULTS`);
    return SCRIPT_DEFAULTS[name];
  });
}

/** The file names a script reads or writes under a directory variable: "$DIR/name". */
function fileNames(script: string, dirs = '[A-Za-z_][A-Za-z0-9_]*|1'): string[] {
  const re = new RegExp(`\\$\\{?(?:${dirs})\\}?/([a-z][a-z0-9-]*(?:\\.[a-z]+)?)(?=["\\s;)}]|$)`, 'gm');
  return [...new Set([...text(script).matchAll(re)].map((m) => m[1]))].sort();
}

describe('the shipped scripts', () => {
  test('are exactly the contract\'s scripts (POSIX sh files with a shebang) and net.awk, plain ASCII', () => {
    expect(readdirSync(ASSETS_DIR).sort()).toEqual([...SCRIPTS].sort());
    expect(text(SCRIPT_FILES.netAwk)).toMatch(/^# net\.awk \(cdk8s-wireguard-gateway\): [\n -~]*$/);
    for (const script of SH_SCRIPTS) {
      expect(text(script)).toMatch(/^#!\/bin\/sh\n# [a-z-]+\.sh \(cdk8s-wireguard-gateway\): /);
      expect(text(script)).toMatch(/^[\n -~]*$/);
      execFileSync('sh', ['-n', join(ASSETS_DIR, script)]);
    }
  });

  test.each(SH_SCRIPTS)('every default in %s is the contract\'s value (src/_contract.ts SCRIPT_DEFAULTS)', (script) => {
    const found = defaults(script);
    expect(found.size).toBeGreaterThan(3);
    for (const [name, value] of found) {
      expect({ name, value: resolve(value) }).toEqual({ name, value: SCRIPT_DEFAULTS[name] });
    }
  });

  test('every value of SCRIPT_DEFAULTS is some script\'s default', () => {
    const used = new Set(SCRIPTS.flatMap((s) => [...defaults(s).keys()]));
    expect(Object.keys(SCRIPT_DEFAULTS).filter((name) => !used.has(name))).toEqual([]);
  });

  test('every file a script names in a directory is one the contract knows', () => {
    const known = new Set<string>([...Object.values(FILES), ...Object.values(SCRIPT_FILES), ...Object.values(RUN_FILES),
      ...Object.values(AGENT_OUT_FILES), ...Object.values(NGINX_OUT_FILES)]);
    // The agent's own bookkeeping in its emptyDir, wg's preshared-key file name, what /proc holds.
    const own = new Set(['reloads', 'reloads.tmp', 'good', 'start', 'peers.tmp', 'sessions.counts', 'resolves', 'psk', 'uptime', 'tcp', 'stat', 'uuid', 'nginx.pid']);
    for (const script of SCRIPTS) {
      const unknown = fileNames(script).filter((f) => !known.has(f) && !own.has(f));
      expect({ script, unknown }).toEqual({ script, unknown: [] });
    }
  });

  test('the agent keeps every file init.sh and metrics.sh read (APPLIED_FILES), so prune and the probe have them', () => {
    const listed = /^APPLIED_FILES="([^"]*)"$/m.exec(text('agent.sh'))![1].split(' ');
    expect(listed).toEqual([...APPLIED_FILES]);
    // start.env: init.sh reads START_SETTINGS, the agent's copy made at its start, never one from a configuration.
    const read = [...fileNames('init.sh', 'CONFIG_DIR'), ...fileNames('metrics.sh', 'APPLIED_DIR')].filter((f) => f !== FILES.startSettings);
    expect(read.filter((f) => !listed.includes(f))).toEqual([]);
    expect(read.length).toBeGreaterThan(3);
  });

  test('a gateway\'s code ConfigMap carries the scripts byte for byte (metrics.sh only with metrics); its data ConfigMap none', () => {
    const gw = testGateway();
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const objects = synth(gw);
    const code = codeData(objects);
    expect(Object.keys(code).sort()).toEqual([SCRIPT_FILES.agentScript, SCRIPT_FILES.initScript, SCRIPT_FILES.netAwk, SCRIPT_FILES.startNginx]);
    for (const script of Object.keys(code)) expect(code[script]).toBe(scriptText(script as typeof SCRIPTS[number]));
    expect(Object.keys(configData(objects)).filter((f) => f.endsWith('.sh'))).toEqual([]);
  });

  test('no script runs a file of a volume another container can write, nor a ConfigMap\'s: only $CODE_DIR and its own directory', () => {
    for (const script of SCRIPTS) {
      const runs = [...text(script).matchAll(/\bsh "([^"]+)"/g)].map((m) => m[1]);
      expect({ script, runs: runs.filter((r) => !r.startsWith('$CODE_DIR/')) }).toEqual({ script, runs: [] });
    }
  });

  test('the npm package ships them (npm pack)', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
    expect(files.filter((f) => f.startsWith('assets/')).sort()).toEqual(SCRIPTS.map((s) => `assets/${s}`).sort());
  }, 60_000);
});
