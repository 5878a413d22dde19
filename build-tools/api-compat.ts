/**
 * api:check: the public API compared with the last released version's, and every
 * breaking change recorded. api:baseline: the current API becomes the baseline
 * (at a release).
 *
 *   npx projen compile && npx projen api:check
 *   npx projen api:baseline          # when a version is released
 *
 * The baseline is the jsii assembly of the last released version, committed as
 * api/baseline.jsii. jsii-diff compares it with the assembly the build writes
 * (.jsii). With no incompatible change the check passes. With some, it passes only
 * if they are recorded:
 * - the version in package.json is at least the baseline's with the breaking bump
 *   (minor while the major is 0: 0.2.x -> 0.3.0; major from 1.0: 1.4.2 -> 2.0.0);
 * - CHANGELOG.md has a section "## [<that version>]" whose "### Breaking changes"
 *   names every changed API element (`Type.member`, or `Type` for a change to the
 *   type itself), with how to migrate.
 */
import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..');
const BASELINE = join(ROOT, 'api', 'baseline.jsii');
const CURRENT = join(ROOT, '.jsii');

interface Assembly { readonly name: string; readonly version: string; readonly dependencies?: Record<string, string> }

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf-8'));

/** An incompatible change, as jsii-diff reports it. */
export interface Finding {
  readonly kind: string;
  readonly fqn: string;
  readonly message: string;
  readonly key: string;
}

/** The `err` lines of `jsii-diff --keys`. */
export function parseFindings(output: string): Finding[] {
  return output.split('\n').flatMap((line) => {
    const m = /^err\s+-\s+(\w+)\s+(\S+?):\s(.*)\s\[([^\]]+)\]$/.exec(line);
    return m === null ? [] : [{ kind: m[1], fqn: m[2], message: m[3], key: m[4] }];
  });
}

/** The API element a finding is about, as the CHANGELOG names it: `Type.member` or `Type`. */
export function elementOf(f: Finding): string {
  const name = f.fqn.replace(/^[^.]+\./, '');
  const property = /\bproperty (\w+)/.exec(f.message);
  return property !== null && !name.includes('.') ? `${name}.${property[1]}` : name;
}

type Version = [number, number, number];

export function parseVersion(v: string): Version {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (m === null) throw new Error(`not a release version (major.minor.patch): ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** The first version a breaking change may have after `v`: the next minor below 1.0, the next major from 1.0. */
export function breakingBump(v: string): string {
  const [major, minor] = parseVersion(v);
  return major === 0 ? `0.${minor + 1}.0` : `${major + 1}.0.0`;
}

export function atLeast(v: string, min: string): boolean {
  const a = parseVersion(v);
  const b = parseVersion(min);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

/** The "### Breaking changes" text of the section "## [version]" of a changelog, if any. */
export function breakingSection(changelog: string, version: string): string | undefined {
  const sections = changelog.split(/^(?=## )/m);
  const section = sections.find((s) => s.startsWith(`## [${version}]`));
  if (section === undefined) return undefined;
  const sub = section.split(/^(?=### )/m).find((s) => s.startsWith('### Breaking changes'));
  return sub;
}

/** What is wrong with recording `findings` (empty: they are recorded). */
export function unrecorded(findings: Finding[], baselineVersion: string, version: string, changelog: string): string[] {
  if (findings.length === 0) return [];
  const required = breakingBump(baselineVersion);
  if (!atLeast(version, required)) {
    return [`${findings.length} breaking change(s) since ${baselineVersion}, but package.json says ${version}: a breaking change needs ${required} or later (set it in .projenrc.ts)`];
  }
  const breaking = breakingSection(changelog, version);
  if (breaking === undefined) {
    return [`CHANGELOG.md has no "### Breaking changes" in a section "## [${version}]": add one that names ${[...new Set(findings.map(elementOf))].join(', ')}`];
  }
  return findings.filter((f) => !breaking.includes(elementOf(f)))
    .map((f) => `not in CHANGELOG.md's breaking changes of ${version}: \`${elementOf(f)}\` (${f.kind} ${f.fqn}: ${f.message})`);
}

/** A directory jsii-diff can load the baseline from, with the dependencies of node_modules. */
function baselineModule(): string {
  const asm = readJson<Assembly>(BASELINE);
  const dir = join(ROOT, 'node_modules', '.cache', 'api-baseline', asm.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(BASELINE, join(dir, '.jsii'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: asm.name, version: asm.version, jsii: {}, peerDependencies: asm.dependencies ?? {} }));
  return dir;
}

function check(): void {
  if (!existsSync(CURRENT)) throw new Error('no .jsii: run npx projen compile first');
  const baseline = readJson<Assembly>(BASELINE);
  const current = readJson<Assembly>(CURRENT);
  const version = readJson<Assembly>(join(ROOT, 'package.json')).version;
  if (current.version !== version) throw new Error(`.jsii is of version ${current.version}, package.json says ${version}: run npx projen compile`);
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'jsii-diff'), [baselineModule(), ROOT, '--keys'], {
    encoding: 'utf-8',
    env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
  });
  const output = `${r.stdout}${r.stderr}`;
  const findings = parseFindings(output);
  // 0: compatible; 1: incompatible changes (listed); anything else: jsii-diff failed.
  if (r.status !== 0 && !(r.status === 1 && findings.length > 0)) throw new Error(`jsii-diff failed (exit ${r.status}):\n${output}`);
  console.log(`API ${current.version} against the baseline ${baseline.version} (api/baseline.jsii):`);
  for (const f of findings) console.log(`  ${elementOf(f)}: ${f.kind} ${f.message}`);
  const problems = unrecorded(findings, baseline.version, version, readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf-8'));
  if (problems.length > 0) {
    console.error(`\nAPI check failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(findings.length === 0 ? '  no incompatible change' : `  ${findings.length} incompatible change(s), each recorded in CHANGELOG.md under ${version}`);
}

function updateBaseline(): void {
  if (!existsSync(CURRENT)) throw new Error('no .jsii: run npx projen compile first');
  const current = readJson<Assembly>(CURRENT);
  mkdirSync(join(ROOT, 'api'), { recursive: true });
  copyFileSync(CURRENT, BASELINE);
  console.log(`api/baseline.jsii is now the API of ${current.name} ${current.version}: commit it with the release`);
}

if (require.main === module) {
  try {
    if (process.argv.includes('--update-baseline')) updateBaseline(); else check();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
