/**
 * test:consumers: the README's TypeScript snippets, in apps made the way a user
 * makes them, on several cdk8s-plus majors, with the library from `npm pack`.
 *
 *   npx projen compile && npx projen test:consumers            # 27, 32, 33 and none
 *   npx projen test:consumers -- --majors 28,29,30,31           # others, once
 *
 * For each major M, an app whose package.json, tsconfig.json and cdk8s.yaml are
 * those of `cdk8s init typescript-app` (the template of the cdk8s-cli in
 * devDependencies, filled in as `cdk8s init` fills it), with cdk8s-plus-M in place
 * of the template's cdk8s-plus-33 and the packed library added. Every ```ts block of
 * README.md becomes a module of the app with one change: its `cdk8s-plus-27`
 * import names cdk8s-plus-M. The app "none" has no cdk8s-plus dependency of its own
 * and only the snippets that import no cdk8s-plus (npm installs the library's peer
 * cdk8s-plus-27 all the same). What a snippet only declares (`declare const chart:
 * Chart;`) is a global that main.ts sets before it loads the snippet; main.ts gives
 * a gateway without routes one route, as an app must. Then, as a user would:
 * `npm install` (the npm registry; npm's cache is used), `npm run compile`
 * (tsc), `npm run synth` (cdk8s synth).
 *
 * The apps are in $CONSUMERS_DIR (default: <tmpdir>/cdk8s-wireguard-gateway-consumers),
 * removed after a run that passes unless KEEP_CONSUMERS is set.
 *
 * The manifests of the majors are then compared object by object. The objects the
 * library defines (label app.kubernetes.io/part-of: wireguard-gateway) must be
 * identical in every app; the others (the snippets' own cdk8s-plus objects, and
 * the policies that `connections.allowFrom` defines) are rendered by the app's
 * cdk8s-plus, and their differences are listed, path by path.
 */
import { spawn } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '..');
const PART_OF = 'app.kubernetes.io/part-of';
/** The public key of the README's example Secret (the README's own key). */
const PUBLIC_KEY = 'P6zkSB4NVE8G53kjqtOXzWGbjxS+d9stgtw+qEbwqm0=';

/** A cdk8s-plus major, or "none" for an app without cdk8s-plus of its own. */
type Major = number | 'none';

interface Options { readonly majors: Major[]; readonly dir: string }

function options(argv: string[]): Options {
  const i = argv.indexOf('--majors');
  const majors: Major[] = i >= 0 ? argv[i + 1].split(',').map((m) => (m === 'none' ? m : Number(m))) : [27, 32, 33, 'none'];
  if (majors.some((m) => m !== 'none' && (!Number.isInteger(m) || m < 27))) {
    throw new Error(`--majors: cdk8s-plus majors from 27, or none, for example 27,32,33,none; got ${argv[i + 1]}`);
  }
  return { majors, dir: process.env.CONSUMERS_DIR ?? join(tmpdir(), 'cdk8s-wireguard-gateway-consumers') };
}

const usesPlus = (snippet: string) => snippet.includes('from \'cdk8s-plus-27\';');
const appName = (major: Major) => (major === 'none' ? 'no cdk8s-plus' : `cdk8s-plus-${major}`);

/** Runs a command; resolves with its stdout, rejects with all its output on a non-zero exit. */
function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
    let stdout = '';
    let all = '';
    child.stdout.on('data', (d) => { stdout += d; all += d; });
    child.stderr.on('data', (d) => { all += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${all}`))));
  });
}

async function timed<T>(what: string, times: string[], f: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const result = await f();
  times.push(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

// --- The app, as `cdk8s init typescript-app` makes it -------------------------------

interface Template { readonly dir: string; readonly values: Record<string, string> }

/** The cdk8s-cli template and the values `cdk8s init` puts into it (cdk8s-cli's lib/cli/cmds/init.js). */
function template(): Template {
  const cliPackage = require.resolve('cdk8s-cli/package.json', { paths: [ROOT] });
  const cli = JSON.parse(readFileSync(cliPackage, 'utf-8'));
  const versionOf = (m: string) => JSON.parse(readFileSync(require.resolve(`${m}/package.json`, { paths: [join(dirname(cliPackage), 'lib')] }), 'utf-8')).version;
  return {
    dir: join(dirname(cliPackage), 'templates', 'typescript-app'),
    values: {
      cdk8s_core_version: versionOf('cdk8s'),
      cdk8s_plus_version: versionOf('cdk8s-plus-33'),
      constructs_version: cli.dependencies.constructs.replace('^', ''),
      cdk8s_cli_spec: `^${cli.version}`,
    },
  };
}

/** The template's package.json for an app on cdk8s-plus-`major`, with the packed library. */
function packageJson(t: Template, name: string, major: Major, tarball: string): string {
  const text = readFileSync(join(t.dir, 'package.json'), 'utf-8')
    .replace('{{ $base }}', name)
    .replace(/\{\{ (\w+) \}\}/g, (_m, key: string) => {
      if (!(key in t.values)) throw new Error(`the cdk8s-cli template has a placeholder this script does not fill: ${key}`);
      return t.values[key];
    });
  const pkg = JSON.parse(text);
  if (pkg.dependencies['cdk8s-plus-33'] === undefined) throw new Error('the cdk8s-cli template no longer depends on cdk8s-plus-33: update this script');
  // As `npm install cdk8s-plus-<major>` would: the latest release of that major.
  const plusVersion = major === 33 ? pkg.dependencies['cdk8s-plus-33'] : '^2';
  delete pkg.dependencies['cdk8s-plus-33'];
  if (major !== 'none') pkg.dependencies[`cdk8s-plus-${major}`] = plusVersion;
  pkg.dependencies['cdk8s-wireguard-gateway'] = `file:${tarball}`;
  return JSON.stringify(pkg, undefined, 2) + '\n';
}

/** The ```ts blocks of README.md, in order. */
function readmeSnippets(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf-8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** main.ts: sets what each snippet declares, loads it, completes the app, synthesizes. */
function mainTs(snippets: Array<string | undefined>): string {
  const lines = [
    '// Generated by build-tools/consumer-apps.ts: loads the README\'s snippets (readme-<n>.ts).',
    'import { App, Chart } from \'cdk8s\';',
    'import { WireguardGateway, WireguardKey } from \'cdk8s-wireguard-gateway\';',
    '',
    'const app = new App();',
    `const key = () => WireguardKey.fromSecretName('wireguard-gateway-key', { publicKey: '${PUBLIC_KEY}' });`,
    '// What a snippet only declares (declare const chart: Chart) is a global when it runs.',
    'const declared = globalThis as Record<string, unknown>;',
  ];
  snippets.forEach((code, i) => {
    if (code === undefined) return;
    const names = [...code.matchAll(/^declare const (\w+): \w+;$/gm)].map((m) => m[1]);
    const unknown = names.filter((n) => !['chart', 'gateway', 'privateKey'].includes(n));
    if (unknown.length > 0) throw new Error(`README snippet ${i} declares ${unknown.join(', ')}: teach build-tools/consumer-apps.ts to provide it`);
    lines.push(`// readme-${i}.ts`);
    if (names.length > 0) {
      lines.push('{', `  const chart = new Chart(app, 'readme-${i}', { namespace: 'readme-${i}' });`, '  declared.chart = chart;');
      if (names.includes('privateKey')) lines.push('  declared.privateKey = key();');
      if (names.includes('gateway')) lines.push('  declared.gateway = new WireguardGateway(chart, \'gateway\', { privateKey: key(), endpoint: \'vpn.example.com\' });');
      lines.push(`  require('./readme-${i}');`, '}');
    } else {
      lines.push(`require('./readme-${i}');`);
    }
  });
  lines.push(
    '// A gateway must expose something: one route for those the snippets leave empty.',
    'for (const c of app.node.findAll()) {',
    '  if (c instanceof WireguardGateway && c.routes.length === 0) {',
    '    c.addManagedDbRoute(\'db\', { host: \'db.example.com\', port: 5432, cidrs: [\'10.20.0.0/16\'] });',
    '  }',
    '}',
    'app.synth();',
  );
  return lines.join('\n') + '\n';
}

function writeApp(t: Template, dir: string, major: Major, tarball: string, snippets: string[]): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), packageJson(t, `app-${appName(major).replace(/ /g, '-')}`, major, tarball));
  for (const f of ['tsconfig.json', 'cdk8s.yaml']) copyFileSync(join(t.dir, f), join(dir, f));
  const used = snippets.map((code) => (major === 'none' && usesPlus(code) ? undefined : code));
  used.forEach((code, i) => {
    // The one change to a snippet: the cdk8s-plus import names the app's major.
    if (code !== undefined) writeFileSync(join(dir, `readme-${i}.ts`), code.replace(/from 'cdk8s-plus-27';/g, `from 'cdk8s-plus-${major}';`));
  });
  writeFileSync(join(dir, 'main.ts'), mainTs(used));
}

// --- Comparing the manifests -----------------------------------------------------

type Objects = Map<string, unknown>;

function manifests(distDir: string): Objects {
  const objects: Objects = new Map();
  for (const file of readdirSync(distDir).filter((f) => f.endsWith('.k8s.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(distDir, file), 'utf-8'))) {
      const o = doc.toJSON();
      if (o === null) continue;
      objects.set(`${file} ${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, o);
    }
  }
  return objects;
}

function isLibraryObject(o: unknown): boolean {
  return (o as { metadata?: { labels?: Record<string, string> } }).metadata?.labels?.[PART_OF] === 'wireguard-gateway';
}

/** The leaf paths at which a and b differ, with both values. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObject = (v: unknown) => typeof v === 'object' && v !== null;
  if (!isObject(a) || !isObject(b) || Array.isArray(a) !== Array.isArray(b)) {
    return [`${path || '.'}: ${a === undefined ? '(absent)' : JSON.stringify(a)} -> ${b === undefined ? '(absent)' : JSON.stringify(b)}`];
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort();
  return keys.flatMap((k) => differences(ra[k], rb[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`));
}

/**
 * Compares every app's objects with the first app's, file by file (the files of
 * the snippets both apps have); returns the failures.
 */
function compare(apps: Array<{ major: Major; objects: Objects }>): string[] {
  const [base, ...others] = apps;
  const failures: string[] = [];
  const fileOf = (key: string) => key.split(' ')[0];
  for (const other of others) {
    const files = new Set([...other.objects.keys()].map(fileOf));
    const keys = [...new Set([...base.objects.keys(), ...other.objects.keys()])].filter((k) => files.has(fileOf(k))).sort();
    const report: string[] = [];
    for (const key of keys) {
      const a = base.objects.get(key);
      const b = other.objects.get(key);
      const library = isLibraryObject(a ?? b);
      const diff = a === undefined || b === undefined ? [`only with ${appName(a === undefined ? other.major : base.major)}`] : differences(a, b);
      if (diff.length === 0) continue;
      report.push(`  ${library ? 'LIBRARY OBJECT' : 'app object'} ${key}`, ...diff.map((d) => `      ${d}`));
      if (library) failures.push(`${appName(base.major)} vs ${appName(other.major)}: the library's ${key} differs`);
    }
    const libraryCount = [...other.objects.values()].filter(isLibraryObject).length;
    console.log(`\n${appName(base.major)} -> ${appName(other.major)}: ${keys.length} objects in ${files.size} files, ${libraryCount} of them the library's; ${report.length === 0 ? 'all identical' : 'differences:'}`);
    for (const line of report) console.log(line);
  }
  return failures;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  if (!existsSync(join(ROOT, 'lib', 'index.js')) || !existsSync(join(ROOT, '.jsii'))) {
    throw new Error('the library is not compiled: run npx projen compile first');
  }
  const times: string[] = [];
  const started = Date.now();
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(opts.dir, { recursive: true });
  const packed = await timed('npm pack', times, () => run('npm', ['pack', '--json', '--pack-destination', opts.dir], ROOT));
  const tarball = join(opts.dir, JSON.parse(packed)[0].filename);
  const t = template();
  const snippets = readmeSnippets();
  const apps = opts.majors.map((major) => ({ major, dir: join(opts.dir, appName(major).replace(/ /g, '-')) }));
  for (const app of apps) writeApp(t, app.dir, app.major, tarball, snippets);
  console.log(`${snippets.length} README snippets; template ${t.dir} (cdk8s ${t.values.cdk8s_core_version}, constructs ^${t.values.constructs_version}, cdk8s-cli ${t.values.cdk8s_cli_spec}); apps in ${opts.dir}`);

  await timed('npm install (all apps at once)', times, () => Promise.all(apps.map((a) => run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], a.dir))));
  const results = [];
  const installed = (dir: string, name: string) => {
    const file = join(dir, 'node_modules', name, 'package.json');
    return existsSync(file) ? `${name} ${JSON.parse(readFileSync(file, 'utf-8')).version}` : `no ${name}`;
  };
  for (const app of apps) {
    const what = app.major === 'none' ? 'no cdk8s-plus' : installed(app.dir, `cdk8s-plus-${app.major}`);
    await timed(`${what}: npm run compile`, times, () => run('npm', ['run', 'compile'], app.dir));
    await timed(`${what}: npm run synth`, times, () => run('npm', ['run', 'synth'], app.dir));
    console.log(`${what} (the library's peer: ${installed(app.dir, 'cdk8s-plus-27')}): compiled and synthesized`);
    results.push({ major: app.major, objects: manifests(join(app.dir, 'dist')) });
  }
  const failures = compare(results);
  console.log(`\n${times.join('\n')}\ntotal: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failures.length > 0) throw new Error(`${failures.join('\n')}\nthe apps are in ${opts.dir}`);
  // About 200 MB an app: kept only when asked (or when something failed, to look at).
  if (process.env.KEEP_CONSUMERS === undefined) rmSync(opts.dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
