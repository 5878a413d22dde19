/**
 * Code and data apart: how every container of the gateway pod starts. The
 * shipped scripts are in a ConfigMap of their own, named after their hash and
 * immutable (the code ConfigMap); the gateway's ConfigMap holds data only.
 * Each container's command is the same small program, written here into the
 * Deployment: copy the scripts the container runs from the code ConfigMap into
 * a directory only it (or the more privileged init container) can write, check
 * every copy against the SHA-256 sum the Deployment names, and run the copy.
 *
 * So what runs in the pod is what its Deployment names, byte for byte: a
 * ConfigMap writer can change data (which the scripts check as data), never
 * code, not even for the next pod start; the readiness probe runs the agent's
 * checked copy too. A script change changes the sums, so it rolls the pod.
 */
import { createHash } from 'crypto';
import { CODE_COPIES, PATHS, SCRIPT_FILES } from './_contract';

/** The shell's first word: every command starts with it (the images' busybox sh). */
const SH = '/bin/sh';

/**
 * The start program (POSIX sh, run with `sh -c`): `boot <from> <to> <script> <sums> [args...]`.
 * It copies each script <sums> names from <from> (the code ConfigMap) to <to>,
 * checks the copies with `sha256sum -c`, and runs <to>/<script>. <sums> is
 * `sha256sum -c` input, one "<sum>  <file>" line per script.
 */
export const BOOT_PROGRAM = [
  'set -eu',
  'from=$1 to=$2 run=$3 sums=$4',
  'shift 4',
  'mkdir -p "$to"',
  'cd "$to"',
  'printf \'%s\\n\' "$sums" | while read -r _ f; do { cp "$from/$f" "$f.new" && mv -f "$f.new" "$f"; } 2>/dev/null || rm -f "$f"; done',
  'if ! out=$(printf \'%s\\n\' "$sums" | sha256sum -c - 2>&1); then',
  '  printf \'%s\\n\' "$out" | grep -v \': OK$\' | sed \'s/^/boot: /\' >&2',
  '  echo "boot: the scripts in $from are not the ones this pod\'s Deployment names (SHA-256): not starting" >&2',
  '  exit 1',
  'fi',
  `exec ${SH} "$to/$run" "$@"`,
].join('\n');

/** A script's SHA-256, as `sha256sum` prints it. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The scripts' `sha256sum -c` lines, in the order given. */
export function sums(scripts: Record<string, string>, names: readonly string[]): string {
  return names.map((n) => {
    const text = scripts[n];
    if (text === undefined) throw new Error(`boot: no script ${n} in the code ConfigMap`);
    return `${sha256(text)}  ${n}`;
  }).join('\n');
}

/** What each container runs: where it copies the scripts, which it copies, which it runs. */
export interface BootPlan {
  readonly to: string;
  readonly copies: readonly string[];
  readonly run: string;
}

/** The init container: init.sh (and net.awk, which it reads), into the agent's emptyDir (the agent copies again when it starts). */
export const INIT_BOOT: BootPlan = { to: CODE_COPIES.agent, copies: [SCRIPT_FILES.initScript, SCRIPT_FILES.netAwk], run: SCRIPT_FILES.initScript };
/** nginx: start-nginx.sh (and net.awk), into its own emptyDir. */
export const NGINX_BOOT: BootPlan = { to: CODE_COPIES.nginx, copies: [SCRIPT_FILES.startNginx, SCRIPT_FILES.netAwk], run: SCRIPT_FILES.startNginx };
/** The agent: itself, init.sh, net.awk, and with metrics metrics.sh, into its own emptyDir. */
export function agentBoot(metrics: boolean): BootPlan {
  return {
    to: CODE_COPIES.agent,
    copies: [SCRIPT_FILES.agentScript, SCRIPT_FILES.initScript, SCRIPT_FILES.netAwk, ...(metrics ? [SCRIPT_FILES.metricsScript] : [])],
    run: SCRIPT_FILES.agentScript,
  };
}

/** A container's command: the start program with its plan and the scripts' sums. */
export function bootCommand(plan: BootPlan, scripts: Record<string, string>): string[] {
  return [SH, '-c', BOOT_PROGRAM, 'boot', PATHS.codeDir, plan.to, plan.run, sums(scripts, plan.copies)];
}

/** The readiness probe: the agent's checked copy of agent.sh, never a file of a volume it did not check. */
export function readinessCommand(): string[] {
  return [SH, `${CODE_COPIES.agent}/${SCRIPT_FILES.agentScript}`, 'ready'];
}

/** The code ConfigMap's name: the gateway's name and the first 10 hex digits of the scripts' hash. */
export function codeConfigMapName(gatewayName: string, scripts: Record<string, string>): string {
  return `${gatewayName}-code-${sha256(sums(scripts, Object.keys(scripts).sort())).slice(0, 10)}`;
}
