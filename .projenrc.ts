import { cdk8s, javascript } from 'projen';

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

  jestOptions: {
    // Snapshot drift must fail the test, never rewrite the snapshot.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    // A run that finds no test is a failure, not a pass.
    passWithNoTests: false,
    jestConfig: {
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
      testTimeout: 120_000,
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

for (const [k, v] of Object.entries(quietEnv)) {
  project.tasks.addEnvironment(k, v);
}

project.addTask('synth:example', {
  description: 'Synthesize the example app with cdk8s synth into examples/postgres-redis-rds/dist/',
  cwd: 'examples/postgres-redis-rds',
  exec: 'cdk8s synth',
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

const ci = project.addTask('ci', {
  description: 'Everything CI runs: build (jsii, API.md, jest, eslint), API.md up to date, the API check, the consumer apps, the e2e suite',
});
ci.spawn(project.buildTask);
ci.exec('git diff --exit-code -- API.md || (echo "API.md is stale: run npx projen build and commit it" >&2; exit 1)');
ci.spawn(apiCheck);
ci.spawn(consumers);
ci.spawn(project.tasks.tryFind('test:e2e')!);

project.synth();
