/**
 * The runtime scripts the package ships in assets/ (init.sh, agent.sh,
 * start-nginx.sh, metrics.sh): POSIX sh files, the same for every gateway,
 * read at synth into the gateway's code ConfigMap. assets/ sits next to src/
 * (ts-jest) and lib/ (compiled), so one relative path serves both.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { SCRIPTS, SCRIPT_FILES } from './_contract';

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

/** The scripts a gateway's pod runs, by name (and net.awk, which two of them read): metrics.sh only with metrics. */
export function gatewayScripts(metrics: boolean): Record<string, string> {
  const names = [
    SCRIPT_FILES.initScript, SCRIPT_FILES.agentScript, SCRIPT_FILES.startNginx, SCRIPT_FILES.netAwk, ...(metrics ? [SCRIPT_FILES.metricsScript] : []),
  ];
  return Object.fromEntries(names.map((n) => [n, scriptText(n)]));
}
