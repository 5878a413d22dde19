/**
 * client-config's file-system work: checking --out and --private-key-dir,
 * reading the peers' private keys, writing the planned files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isWireguardKey } from '../_keys';
import { keyPathOf, PlannedFile } from './client-plan';
import { CliError } from './command';

export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Creates --out if needed, and checks that it is a directory we may write to (before the app runs). */
export function prepareOutDir(given: string, dir: string): void {
  try {
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
      throw new Error('it exists and is not a directory');
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code ? `${err.code}, ${err.message.replace(/^[A-Z]+: /, '')}` : err.message;
    throw new CliError(`client-config: --out ${JSON.stringify(given)} is not a writable directory (${why}). Fix: pick a directory you can write to`);
  }
}

/**
 * The private keys in --private-key-dir for these .conf paths, by .conf path (a
 * path without a key file is left out), and a note for each key file that
 * its group or others may read or write (the mode bits; not on Windows).
 */
export function readPrivateKeys(keyDir: string, confPaths: string[]): { keys: Map<string, string>; notes: string[] } {
  const keys = new Map<string, string>();
  const notes: string[] = [];
  for (const confPath of confPaths) {
    const file = path.join(keyDir, keyPathOf(confPath));
    if (!fs.existsSync(file)) continue;
    const mode = fs.statSync(file).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      notes.push(`${file} holds a private key and its group or others have access (mode 0${mode.toString(8)}): chmod 600 ${file}`);
    }
    const key = fs.readFileSync(file, 'utf-8').trim();
    if (!isWireguardKey(key)) {
      throw new CliError(`client-config: ${file} is not a WireGuard private key (${key.length} characters; not shown): expected 44 characters of base64, as printed by "wg genkey"`);
    }
    keys.set(confPath, key);
  }
  return { keys, notes };
}

/** Writes the planned files under `outDir`. */
export function writePlannedFiles(outDir: string, files: PlannedFile[]): void {
  for (const f of files) writeFile(path.join(outDir, f.path), f.content, f.mode);
}

/** Replaces a file so that it has `mode` from its first byte, even when it existed with another mode. */
function writeFile(file: string, content: string, mode: number): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, content, { mode, flag: 'wx' });
  } catch (e) {
    throw new CliError(`client-config: cannot write ${file}: ${(e as Error).message}`);
  }
}
