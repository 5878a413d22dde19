/**
 * The `cdk8s-wireguard-gateway` command: from argv, stdin and env to
 * `{ stdout, stderr, code }`. `cli.ts` only wires it to the process.
 * Nothing under `_cli/` is exported from index.ts (not part of the jsii API).
 *
 * Keep the start fast: nothing here may load cdk8s or cdk8s-plus (a test
 * checks it).
 */
import { parseOptions } from './args';
import { accessReportCommand } from './cmds/access-report';
import { clientConfigCommand } from './cmds/client-config';
import { keygenCommand } from './cmds/keygen';
import { pubkeyCommand } from './cmds/pubkey';
import { BIN, CliCommand, CliError, CliIo, CliResult, ok, usageError } from './command';
import { commandList, topLevelHelp } from './help';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly CliCommand[] = [keygenCommand, pubkeyCommand, clientConfigCommand, accessReportCommand];

/** Runs one command line. Never throws: errors become stderr and a non-zero code. */
export function runCli(argv: string[], io: CliIo, commands: readonly CliCommand[] = COMMANDS): CliResult {
  try {
    return dispatch(argv, io, commands);
  } catch (e) {
    if (e instanceof CliError) {
      return { stdout: '', stderr: `${BIN}: ${e.message}\n`, code: e.code };
    }
    // An unexpected failure is a bug: show it whole.
    return { stdout: '', stderr: `${BIN}: internal error: ${(e as Error).stack ?? e}\n`, code: 1 };
  }
}

function dispatch(argv: string[], io: CliIo, commands: readonly CliCommand[]): CliResult {
  const [name, ...rest] = argv;
  const find = (n: string) => commands.find((c) => c.name === n);
  if (name === undefined) {
    return { stdout: '', stderr: topLevelHelp(commands), code: 2 };
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? rest[0] ?? '' : '';
    if (topic === '') return ok(topLevelHelp(commands));
    const command = find(topic);
    if (command === undefined) throw usageError(`unknown command ${JSON.stringify(topic)}`);
    return ok(command.help);
  }
  const command = find(name);
  if (command === undefined) {
    throw usageError(`unknown command ${JSON.stringify(name)}: use ${commandList(commands)}`);
  }
  const options = parseOptions(command.name, rest, command.options);
  return options.help ? ok(command.help) : command.run(options, io);
}
