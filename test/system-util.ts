/**
 * Helpers of the system tier (*.system.test.ts: root, network namespaces and
 * the real programs): real `nginx -t` in a namespace, and the shells the
 * images run the scripts with.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { adaptNginxConf } from './script-cases/pod-config';
import { ASSETS, Shell } from './stand-ins';

export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export { adaptNginxConf };

/** The e2e suite's shims: `nginx` loads Debian's dynamic stream module (-g load_module), as the images build it in. */
export const SHIM_DIR = join(__dirname, 'e2e', 'shim');

/** The real `ip`, by its full path: a child whose PATH starts with SHIM_DIR would find the shim's. */
const IP = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf-8' }).trim();

/** The IPv4 addresses a conf listens on. */
export function listenAddresses(conf: string): string[] {
  return [...new Set([...conf.matchAll(/^\s*listen (\d+\.\d+\.\d+\.\d+):\d+;/gm)].map((m) => m[1]))];
}

/**
 * A network namespace for `nginx -t` runs: every listen address of `confs` on
 * its loopback. Returns a function that runs real `nginx -t` on one conf in it
 * (nginx's stderr, or throws with it), and one that deletes the namespace.
 */
export function nginxTester(confs: string[]): { test: (conf: string, resolver?: string) => string; close: () => void } {
  const ns = `wggwt${process.pid}${Math.floor(Math.random() * 1e6)}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { stdio: 'pipe' });
  const added = new Set<string>();
  const addAddresses = (conf: string) => {
    // No dummy module here: the addresses go on the namespace's loopback.
    for (const a of listenAddresses(conf).filter((x) => !added.has(x))) {
      inNs('ip', 'address', 'add', `${a}/32`, 'dev', 'lo');
      added.add(a);
    }
  };
  inNs('ip', 'link', 'set', 'lo', 'up');
  confs.forEach(addAddresses);
  const test = (conf: string, resolver = '127.0.0.1') => {
    addAddresses(conf);
    const dir = mkdtempSync(join(tmpdir(), 'wggw-nginx-t-'));
    try {
      // Named adaptations: Debian loads the stream module dynamically, and the
      // pod's emptyDirs (/tmp/nginx, /run/wireguard-gateway) become temporary directories.
      const adapted = adaptNginxConf(conf, dir);
      mkdirSync(join(dir, 'share', 'agent-out'), { recursive: true });
      mkdirSync(join(dir, 'share', 'nginx-out'), { recursive: true });
      writeFileSync(join(dir, 'nginx.conf'), adapted);
      // What start-nginx.sh writes when the container starts.
      writeFileSync(join(dir, 'resolver.conf'), `resolver ${resolver} valid=5s ipv6=off;\nresolver_timeout 2s;\n`);
      writeFileSync(join(dir, 'metrics-listen.conf'), 'listen 127.0.0.1:9586;\n');
      // stdout is a file, as in a pod: nginx opens /dev/stdout for the access
      // log, which fails on the socket node would give it.
      const stdout = openSync(join(dir, 'stdout'), 'w');
      const r = spawnSync('ip', ['netns', 'exec', ns, 'nginx', '-t', '-e', 'stderr', '-p', dir,
        '-g', `load_module ${STREAM_MODULE};`, '-c', join(dir, 'nginx.conf')], { encoding: 'utf-8', stdio: ['ignore', stdout, 'pipe'] });
      closeSync(stdout);
      if (r.status !== 0) throw new Error(`nginx -t failed (exit ${r.status}):\n${r.stderr}\n--- nginx.conf ---\n${adapted}`);
      return r.stderr;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { test, close: () => { spawnSync('ip', ['netns', 'delete', ns]); } };
}

/** Real `nginx -t` on one rendered nginx.conf, in a namespace of its own. */
export function nginxTest(conf: string, resolver = '127.0.0.1'): string {
  const tester = nginxTester([conf]);
  try {
    return tester.test(conf, resolver);
  } finally {
    tester.close();
  }
}

/** The busybox applets the images' scripts use, first in PATH (a directory of links, made once). */
function busyboxApplets(): string {
  const dir = join(tmpdir(), `wggw-busybox-${process.getuid?.() ?? 0}`);
  const busybox = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf-8' }).trim();
  mkdirSync(dir, { recursive: true });
  for (const a of ['sh', 'awk', 'sed', 'grep', 'head', 'tail', 'sort', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'cut', 'wc', 'ls', 'date', 'timeout',
    'touch', 'tr', 'readlink', 'sleep', 'cmp', 'tee', 'rmdir', 'sha256sum']) {
    try {
      if (!existsSync(join(dir, a))) symlinkSync(busybox, join(dir, a));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another worker made it
    }
  }
  return dir;
}

/** busybox sh with busybox's applets first in PATH, as in the Alpine images. */
export function busyboxShell(): Shell {
  return { name: 'busybox sh', cmd: ['busybox', 'sh'], path: busyboxApplets() };
}

/** dash, Debian's sh, with the host's programs. */
export const DASH: Shell = { name: 'dash', cmd: ['dash'] };

/**
 * The nginx container, for a test: a network namespace with `addresses` on its
 * loopback, the pod's directories (config, run, share/agent-out,
 * share/nginx-out) where uid 101 can use them, and the shipped start-nginx.sh
 * started as uid 101 (no new privileges) under busybox sh, its paths from the
 * environment, the e2e shim for nginx (the stream module) first in PATH.
 */
export class NginxContainer {
  public readonly dir = mkdtempSync(join(tmpdir(), 'wggw-nginx-'));
  public readonly ns = `wggwn${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  public stderr = '';
  private supervisor?: ChildProcess;

  constructor(addresses: string[]) {
    chmodSync(this.dir, 0o755);
    for (const d of ['config', 'run', 'share', 'share/agent-out', 'share/nginx-out']) {
      mkdirSync(join(this.dir, d));
      chmodSync(join(this.dir, d), d === 'share' ? 0o755 : 0o777);
    }
    execFileSync('ip', ['netns', 'add', this.ns]);
    this.inNs('ip', 'link', 'set', 'lo', 'up');
    for (const a of addresses) this.inNs('ip', 'address', 'add', `${a}/32`, 'dev', 'lo');
  }

  public path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  public inNs(...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.ns, ...args], { encoding: 'utf-8' });
  }

  /** Starts start-nginx.sh; returns a promise of its exit code. */
  public start(env: Record<string, string> = {}): Promise<number | null> {
    const stdout = openSync(this.path('stdout'), 'w');
    chownSync(this.path('stdout'), 101, 101);
    // The shipped files, copied as they are to where uid 101 can read them (a checkout may sit in a 0700 directory).
    copyFileSync(join(ASSETS, 'start-nginx.sh'), this.path('start-nginx.sh'));
    copyFileSync(join(ASSETS, 'net.awk'), this.path('net.awk'));
    mkdirSync(this.path('shim'), { recursive: true });
    copyFileSync(join(SHIM_DIR, 'nginx'), this.path('shim', 'nginx'));
    chmodSync(this.path('shim', 'nginx'), 0o755);
    this.supervisor = spawn(IP, ['netns', 'exec', this.ns, 'setpriv', '--reuid=101', '--regid=101', '--clear-groups', '--no-new-privs',
      'busybox', 'sh', this.path('start-nginx.sh')], {
      env: {
        PATH: `${this.path('shim')}:${busyboxShell().path}:/usr/sbin:/usr/bin:/sbin:/bin`,
        E2E_REAL_NGINX: '/usr/sbin/nginx',
        CONFIG_DIR: this.path('config'),
        AGENT_OUT: this.path('share', 'agent-out'),
        NGINX_OUT: this.path('share', 'nginx-out'),
        RUN_DIR: this.path('run'),
        ...env,
      },
      stdio: ['ignore', stdout, 'pipe'],
    });
    this.supervisor.stderr!.on('data', (d) => { this.stderr += d; });
    const supervisor = this.supervisor;
    return new Promise((resolve) => supervisor.on('exit', (code) => resolve(code)));
  }

  public stop(signal: NodeJS.Signals): void {
    this.supervisor?.kill(signal);
  }

  /** Kills everything in the namespace and deletes it. */
  public close(): void {
    this.supervisor?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf-8' }).stdout.split('\n').filter(Boolean).forEach((p) => {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    });
    spawnSync('ip', ['netns', 'delete', this.ns]);
  }
}
