/**
 * Running the user's cdk8s app: its command through the shell, with
 * CDK8S_OUTDIR set to a fresh temporary directory, and the YAML it wrote
 * there. The directory is removed afterwards.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BIN, CliError, CliIo } from './command';

export interface AppOutput {
  /** Every YAML file the app wrote, by its path under CDK8S_OUTDIR, in path order. */
  readonly manifests: Array<{ readonly file: string; readonly text: string }>;
  /** What the app printed on stderr (passed on to the user). */
  readonly stderr: string;
}

/** Runs the app command and reads the manifests it wrote; `command` (the CLI command that runs it) starts each message. */
export function synthesizeApp(command: string, app: string, io: CliIo): AppOutput {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${BIN}-synth-`));
  try {
    const r = spawnSync(app, {
      shell: true,
      cwd: io.cwd,
      env: { ...io.env, CDK8S_OUTDIR: tmp },
      encoding: 'utf-8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
    if (r.error) {
      throw new CliError(`${command}: cannot run --app ${JSON.stringify(app)}: ${r.error.message}`);
    }
    if (r.status !== 0) {
      const how = r.signal ? `was killed by ${r.signal}` : `failed with exit code ${r.status}`;
      const tail = (r.stderr ?? '').trim().split('\n').slice(-20).join('\n');
      throw new CliError(`${command}: the --app command ${how}: ${app}${tail ? `\n--- its stderr (last lines) ---\n${tail}` : ''}`);
    }
    const files = yamlFilesUnder(tmp);
    if (files.length === 0) {
      throw new CliError(`${command}: the --app command wrote no YAML to CDK8S_OUTDIR: ${app}. Fix: make sure it calls app.synth(), and that the App has no outdir of its own (an App with { outdir } ignores CDK8S_OUTDIR)`);
    }
    return {
      manifests: files.map((f) => ({ file: path.relative(tmp, f), text: fs.readFileSync(f, 'utf-8') })),
      stderr: r.stderr ?? '',
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** YAML files under a directory, recursively, sorted (cdk8s may write one directory per chart). */
export function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFilesUnder(p));
    else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(p);
  }
  return out;
}
