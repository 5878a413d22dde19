import { JsonFile, cdk8s, javascript } from 'projen';

// Nothing in the build may reach for the network beyond the npm registry.
const quietEnv = {
  JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20',
  JSII_SILENCE_SUPPORT_WARNING: '1',
  CDK8S_CHECK_UPGRADE: 'false',
};

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-wireguard-gateway',
  packageName: 'cdk8s-wireguard-gateway',
  description:
    'cdk8s constructs for a WireGuard gateway that exposes Kubernetes Services and managed databases to remote peers through one nginx stream proxy.',
  keywords: ['cdk8s', 'wireguard', 'kubernetes', 'nginx', 'vpn', 'gateway'],
  author: 'cdk8s-wireguard-gateway maintainers',
  authorAddress: 'maintainers@users.noreply.github.com',
  repositoryUrl: 'https://github.com/cdk8s-wireguard-gateway/cdk8s-wireguard-gateway.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  cdk8sVersion: '2.70.0',
  constructsVersion: '10.3.0',
  peerDeps: ['cdk8s-plus-27@^2.9.5'],
  bundledDeps: ['tweetnacl@^1.0.3', 'qrcode-terminal@^0.12.0', 'ipaddr.js@^2.2.0', 'yaml@^2'],
  devDeps: [
    '@types/node@^20',
    '@types/qrcode-terminal@^0.12.2',
    'kubernetes-models@^4',
    // 4.x is the last CommonJS release (5+ are ESM-only); its base and validate match kubernetes-models 4.
    '@kubernetes-models/prometheus-operator@^4.4.4',
    'fast-check@^4',
    // access-report's CSV, parsed back in its tests by a reader other than the writer.
    'csv-parse@^7',
    'cdk8s-cli@^2',
    'ts-node@^10',
  ],
  bin: { 'cdk8s-wireguard-gateway': 'lib/cli.js' },

  // Node-22-only release and GitHub tooling stays off; CI is .ci/run.
  release: false,
  github: false,
  depsUpgrade: false,
  pullRequestTemplate: false,

  // The unit tier (`npx projen test`): test/**/*.test.ts but *.system.test.ts. It runs as an
  // unprivileged user with only node and a POSIX sh (see .ci/unit-tier.sh); the system tier
  // (test:system, below) runs what needs root, namespaces or the real programs.
  jestOptions: {
    // Snapshot drift must fail the test, never rewrite the snapshot.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    // A run that finds no test is a failure, not a pass.
    passWithNoTests: false,
    jestConfig: {
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '\\.system\\.test\\.ts$'],
      testTimeout: 120_000,
      // Starts the record of rendered nginx.conf files that the system tier runs nginx -t on.
      globalSetup: '<rootDir>/test/global-setup.js',
    },
  },
  tsconfigDev: {
    include: ['../examples/**/*.ts', '../bench/**/*.ts', '../build-tools/**/*.ts'],
    compilerOptions: {},
  },
  gitignore: ['examples/*/dist/', 'bench/results/'],
});

// Semver. While the major is 0, a breaking change bumps the minor (0.2.x -> 0.3.0), anything
// else the patch; from 1.0 on, a breaking change bumps the major. CHANGELOG.md records every
// user-visible change under its version; api:check holds the API to it (api/baseline.jsii).
project.package.addVersion('0.3.0');

// IPv4 arithmetic and Curve25519 clamping are bit operations by nature.
project.eslint?.addRules({ 'no-bitwise': 'off' });

for (const pattern of ['/examples/', '/bench/', '/.ci/', '/docs/', '/api/', '/build-tools/']) {
  project.addPackageIgnore(pattern);
}
// The runtime scripts the library reads at synth ship in the package (assets/*.sh).
project.addPackageIgnore('!/assets/');

for (const [k, v] of Object.entries(quietEnv)) {
  project.tasks.addEnvironment(k, v);
}

project.addTask('synth:example', {
  description: 'Synthesize the example app with cdk8s synth into examples/postgres-redis-rds/dist/',
  cwd: 'examples/postgres-redis-rds',
  exec: 'cdk8s synth',
});

// The system tier: what needs root, network namespaces or the real programs (nginx, wg,
// wireguard-go, busybox, dash, promtool). Its own jest configuration: *.system.test.ts only.
new JsonFile(project, 'test/jest.system.json', {
  obj: {
    rootDir: '..',
    testMatch: ['<rootDir>/test/**/*.system.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
    testTimeout: 120_000,
    clearMocks: true,
    reporters: ['default', ['jest-junit', { outputDirectory: 'test-reports', outputName: 'junit-system.xml' }]],
    transform: { '^.+\\.[t]sx?$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }] },
  },
});
project.addTask('test:system', {
  description: 'The system tier: *.system.test.ts, as root, with nginx, wg, wireguard-go, busybox and promtool (run the unit tier first: nginx -t checks what it rendered)',
  exec: 'jest --config test/jest.system.json --ci --runInBand',
  receiveArgs: true,
});

project.addTask('lint:sh', {
  description: 'shellcheck (Debian\'s package) on the shipped scripts as POSIX sh, and on the e2e, bench and CI scripts',
  steps: [
    // projen runs steps with its own portable shell: bash for the check's message.
    { exec: 'bash -c \'command -v shellcheck >/dev/null || { echo "lint:sh needs shellcheck (the Debian package): apt-get install shellcheck" >&2; exit 1; }\'' },
    { exec: 'shellcheck --shell=sh --severity=style assets/*.sh' },
    { exec: 'shellcheck --severity=style --external-sources test/e2e/*.sh test/e2e/shim/* bench/*.sh .ci/run .ci/*.sh' },
  ],
});

project.addTask('test:e2e', {
  description: 'End-to-end: run the synthesized gateway for real (needs root; installs its Debian packages)',
  exec: 'bash test/e2e/run.sh',
  receiveArgs: true,
});

project.addTask('bench:synth', {
  description: 'Benchmark: synth time and memory of the library vs hand-built ApiObjects, N = 100, 1,000, 10,000',
  exec: 'node --expose-gc -r ts-node/register/transpile-only bench/synth.ts',
  receiveArgs: true,
});

project.addTask('bench:datapath', {
  description: 'Benchmark: throughput, connection rate and DNS-follow time through the e2e harness (needs root)',
  exec: 'bash bench/datapath.sh',
  receiveArgs: true,
});

// The build tools (api:check, test:consumers) are type-checked and linted like the tests.
new javascript.TypescriptConfig(project, {
  fileName: 'build-tools/tsconfig.json',
  extends: javascript.TypescriptConfigExtends.fromPaths(['../tsconfig.json']),
  include: ['**/*.ts'],
  compilerOptions: { rootDir: '..', noEmit: true },
});

// projen's compat task compares with the package on npm; api:check compares with the committed baseline.
project.removeTask('compat');
const apiCheck = project.addTask('api:check', {
  description: 'The API against the last release (api/baseline.jsii, jsii-diff): every breaking change recorded in the version and CHANGELOG.md (after compile)',
  exec: 'node -r ts-node/register/transpile-only build-tools/api-compat.ts',
});
project.addTask('api:baseline', {
  description: 'At a release: the compiled API becomes api/baseline.jsii',
  exec: 'node -r ts-node/register/transpile-only build-tools/api-compat.ts --update-baseline',
});
const consumers = project.addTask('test:consumers', {
  description: 'The README\'s snippets in apps made like `cdk8s init typescript-app`, on cdk8s-plus-27, -32, -33 and none, with the library from npm pack (after compile; needs the npm registry)',
  exec: 'node -r ts-node/register/transpile-only build-tools/consumer-apps.ts',
  receiveArgs: true,
});

// Everything CI runs, as root (.ci/run runs it through the README's test command). The unit
// tier runs once, as an unprivileged user with a PATH without ip, nginx, wg or busybox (that
// is why this is not `build`, which would run it again as root).
const ci = project.addTask('ci', {
  description: 'Everything CI runs (as root): the unit tier as nobody, the system tier, shellcheck, the jsii build and API.md, the API check, the package, the consumer apps, the e2e suite',
});
ci.exec('bash .ci/unit-tier.sh');
ci.spawn(project.tasks.tryFind('test:system')!);
ci.spawn(project.tasks.tryFind('lint:sh')!);
ci.spawn(project.defaultTask!);
ci.spawn(project.preCompileTask);
ci.spawn(project.compileTask);
ci.spawn(project.postCompileTask);
ci.exec('git diff --exit-code -- API.md || (echo "API.md is stale: run npx projen build and commit it" >&2; exit 1)');
ci.spawn(apiCheck);
ci.spawn(project.packageTask);
ci.spawn(consumers);
ci.spawn(project.tasks.tryFind('test:e2e')!);

project.synth();
