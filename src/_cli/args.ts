/**
 * The CLI's argument rules: `--name value`, `--name=value`, `--flag` and
 * `-h`/`--help`, nothing else. Node's `util.parseArgs` splits the words; every
 * rule and message is the CLI's own.
 */
import { parseArgs } from 'util';
import { usageError } from './command';

/** Whether an option takes a value (`--out dir`) or is a flag (`--qr`). */
export type OptionKind = 'flag' | 'value';

/** A command's options by name (without the leading "--"). */
export type OptionSpec = { readonly [name: string]: OptionKind };

export interface ParsedOptions {
  readonly values: { [name: string]: string };
  readonly flags: Set<string>;
  readonly help: boolean;
}

/**
 * Parses a command's arguments, and rejects anything else with the CLI's own
 * messages: unknown options, stray arguments, a value missing or given to a
 * flag, an option given twice.
 */
export function parseOptions(command: string, args: string[], spec: OptionSpec): ParsedOptions {
  const options = Object.fromEntries(Object.entries(spec).map(([name, kind]) =>
    [name, { type: kind === 'flag' ? 'boolean' as const : 'string' as const }]));
  // Not strict: parseArgs only splits the words; every rule below is the CLI's.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const values: { [name: string]: string } = {};
  const flags = new Set<string>();
  let help = false;
  for (const token of tokens) {
    const arg = args[token.index];
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (token.kind === 'positional' || (token.kind === 'option' && !token.rawName.startsWith('--'))) {
      throw usageError(`${command}: unexpected argument ${JSON.stringify(arg)}`, command);
    }
    if (token.kind === 'option-terminator' || !Object.prototype.hasOwnProperty.call(spec, token.name)) {
      const name = token.kind === 'option' ? token.name : '';
      throw usageError(`${command}: unknown option ${JSON.stringify(`--${name}`)}`, command);
    }
    const name = token.name;
    if (values[name] !== undefined || flags.has(name)) {
      throw usageError(`${command}: option --${name} given twice`, command);
    }
    if (spec[name] === 'flag') {
      if (token.inlineValue) throw usageError(`${command}: option --${name} takes no value`, command);
      flags.add(name);
      continue;
    }
    // parseArgs takes the next word as the value even when it is the next option.
    const value = token.inlineValue === false && token.value?.startsWith('--') ? undefined : token.value;
    if (value === undefined || value === '') {
      throw usageError(`${command}: option --${name} needs a value`, command);
    }
    values[name] = value;
  }
  return { values, flags, help };
}
