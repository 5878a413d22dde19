/**
 * The top-level help, made from the list of commands (each command carries
 * its own `--help` text and summary line).
 */
import { BIN, CliCommand } from './command';

export function topLevelHelp(commands: readonly CliCommand[]): string {
  const rows = commands.map((c) => `  ${c.name.padEnd(16)}${c.summary}`);
  return `Usage: ${BIN} <command> [options]

WireGuard keys, client configurations and access reports for cdk8s-wireguard-gateway.

Commands:
${rows.join('\n')}

Options:
  -h, --help      Show this help ("${BIN} <command> --help" for a command's)

Exit codes: 0 success, 1 failure, 2 usage error.
`;
}

/** "a, b or c": the command names, for a message. */
export function commandList(commands: readonly CliCommand[]): string {
  const names = commands.map((c) => c.name);
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
