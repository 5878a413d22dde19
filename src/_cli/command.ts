/**
 * What every command of the `cdk8s-wireguard-gateway` CLI shares: the shape of
 * a command, its inputs (argv, stdin, env, cwd) and its result
 * (`{ stdout, stderr, code }`), and the one error type the CLI reports.
 *
 * Exit codes: 0 success, 1 failure (bad key, app failed, no gateway...),
 * 2 usage error (unknown command or option, missing option).
 */
import type { OptionSpec, ParsedOptions } from './args';

export const BIN = 'cdk8s-wireguard-gateway';

export interface CliIo {
  /** Reads all of stdin. Only `pubkey` calls it. */
  readonly readStdin: () => string;
  readonly env: { [name: string]: string | undefined };
  /** Relative paths (--out, --key-file, ...) and the app command resolve from here. */
  readonly cwd: string;
  /** The clock, in milliseconds since 1970 (access-report's default --at); Date.now when absent. */
  readonly now?: () => number;
  /**
   * Standard output is a terminal (not a file, a pipe or a CI log): client-config
   * prints QR codes of private keys only there, unless told otherwise. Absent: not a terminal.
   */
  readonly stdoutIsTerminal?: boolean;
}

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * One command, as `dispatch.ts` lists it. Adding a command is a new module
 * under `cmds/` that exports one of these, and one line in `COMMANDS`.
 */
export interface CliCommand {
  /** The word after the binary's name. */
  readonly name: string;
  /** Its line in the top-level help. */
  readonly summary: string;
  /** Its `--help` text. */
  readonly help: string;
  /** The options it takes (`-h`/`--help` is always accepted). */
  readonly options: OptionSpec;
  /** Runs it; never called with --help. Throws CliError for what the user must fix. */
  run(options: ParsedOptions, io: CliIo): CliResult;
}

/** An error the CLI reports as one clear message, with an exit code. */
export class CliError extends Error {
  constructor(message: string, public readonly code: number = 1) {
    super(message);
  }
}

/** A usage error (exit 2): the message, then where to read the usage. */
export function usageError(message: string, command?: string): CliError {
  const help = command ? `${BIN} ${command} --help` : `${BIN} --help`;
  return new CliError(`${message}. Run "${help}" for usage.`, 2);
}

export function ok(stdout: string, stderr = ''): CliResult {
  return { stdout, stderr, code: 0 };
}
