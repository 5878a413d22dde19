/**
 * The runtime scripts the package ships in assets/ (init.sh, agent.sh,
 * start-nginx.sh, metrics.sh): POSIX sh files, the same for every gateway,
 * read at synth into the gateway's ConfigMap. assets/ sits next to src/ (ts-jest)
 * and lib/ (compiled), so one relative path serves both.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { SCRIPTS } from './_contract';

/** The package's assets/ directory. */
export const ASSETS_DIR = join(__dirname, '..', 'assets');

const texts = new Map<string, string>();

/** A shipped script's text, read once per process. */
export function scriptText(name: typeof SCRIPTS[number]): string {
  let text = texts.get(name);
  if (text === undefined) {
    text = readFileSync(join(ASSETS_DIR, name), 'utf-8');
    texts.set(name, text);
  }
  return text;
}
