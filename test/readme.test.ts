/**
 * The README is a newcomer's first page: every TypeScript snippet in it must
 * compile against the real API, and its test command must be the one CI runs.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf-8');

function snippets(): string[] {
  return [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe('README', () => {
  test('has TypeScript snippets', () => {
    expect(snippets().length).toBeGreaterThanOrEqual(5);
  });

  test('every TypeScript snippet compiles against the library', () => {
    const dir = join(ROOT, 'test', '.readme-snippets');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = snippets().map((code, i) => {
      const file = join(dir, `snippet${i}.ts`);
      // Each snippet is its own module; the package name maps to this repo's src.
      writeFileSync(file, code.replace(/from 'cdk8s-wireguard-gateway'/g, "from '../../src'") + '\nexport {};\n');
      return file;
    });
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${d.file.fileName.replace(dir + '/', '')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    rmSync(dir, { recursive: true, force: true });
    expect(diagnostics).toEqual([]);
  });

  test('.ci/run runs the test command written in the README', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf-8');
    expect(README).toMatch(/<!-- test-command -->\n```sh\nnpm ci && npx projen ci\n```/);
    expect(ci).toContain('<!-- test-command -->');
  });
});
