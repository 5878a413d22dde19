/**
 * The rules of api:check (build-tools/api-compat.ts): which version a breaking
 * change needs, and when CHANGELOG.md records it. The check itself runs jsii-diff
 * on the compiled assembly (npx projen api:check).
 */
import { Finding, atLeast, breakingBump, breakingSection, elementOf, parseFindings, unrecorded } from '../build-tools/api-compat';

const OUTPUT = `Original assembly: cdk8s-wireguard-gateway@0.2.0
Updated assembly: cdk8s-wireguard-gateway@0.3.0
API elements with incompatible changes:
err  - PROP cdk8s-wireguard-gateway.WireguardGateway.scheduling: type cdk8s-wireguard-gateway.IGatewayScheduling (formerly cdk8s-plus-27.WorkloadScheduling): it does not extend it [changed-type:cdk8s-wireguard-gateway.WireguardGateway.scheduling]
err  - IFACE cdk8s-wireguard-gateway.WireguardGatewayProps: formerly required property mtu is missing [removed:cdk8s-wireguard-gateway.WireguardGatewayProps.mtu]
err  - IFACE cdk8s-wireguard-gateway.ProxiedServiceOptions: property service, cdk8s-plus-27.Service does not extend cdk8s-wireguard-gateway.ITargetService: input [strengthened:cdk8s-wireguard-gateway.ProxiedServiceOptions]
warn - CLASS cdk8s-wireguard-gateway.Other: a warning is no finding [x:y]
`;

const changelog = (breaking: string) => `# Changelog

## [0.3.0] - Unreleased

### Breaking changes

${breaking}

### Added

- \`WireguardGateway.mtu\` is mentioned here, outside the breaking changes.

## [0.2.0] - 2026-11-30

### Breaking changes

- \`ProxiedServiceOptions.service\` (an older entry does not count for 0.3.0)
`;

describe('api:check', () => {
  const findings: Finding[] = parseFindings(OUTPUT);

  test('reads the errors of jsii-diff --keys, not its warnings, and names the API element of each', () => {
    expect(findings.map((f) => [f.kind, f.key])).toEqual([
      ['PROP', 'changed-type:cdk8s-wireguard-gateway.WireguardGateway.scheduling'],
      ['IFACE', 'removed:cdk8s-wireguard-gateway.WireguardGatewayProps.mtu'],
      ['IFACE', 'strengthened:cdk8s-wireguard-gateway.ProxiedServiceOptions'],
    ]);
    expect(findings.map(elementOf)).toEqual(['WireguardGateway.scheduling', 'WireguardGatewayProps.mtu', 'ProxiedServiceOptions.service']);
  });

  test('a breaking change bumps the minor below 1.0 and the major from 1.0', () => {
    expect(breakingBump('0.2.0')).toBe('0.3.0');
    expect(breakingBump('0.2.7')).toBe('0.3.0');
    expect(breakingBump('1.4.2')).toBe('2.0.0');
    expect([atLeast('0.3.0', '0.3.0'), atLeast('0.10.0', '0.3.0'), atLeast('0.2.9', '0.3.0'), atLeast('1.0.0', '0.3.0')]).toEqual([true, true, false, true]);
  });

  test('no incompatible change passes whatever the version', () => {
    expect(unrecorded([], '0.2.0', '0.2.0', '')).toEqual([]);
  });

  test('fails if the version is not bumped', () => {
    expect(unrecorded(findings, '0.2.0', '0.2.1', changelog(''))).toEqual([
      '3 breaking change(s) since 0.2.0, but package.json says 0.2.1: a breaking change needs 0.3.0 or later (set it in .projenrc.ts)',
    ]);
  });

  test('fails if the version has no breaking changes in CHANGELOG.md', () => {
    expect(unrecorded(findings, '0.2.0', '0.4.0', changelog(''))[0]).toMatch(/^CHANGELOG.md has no "### Breaking changes" in a section "## \[0.4.0\]"/);
  });

  test('fails for each changed element that the version\'s breaking changes do not name', () => {
    const problems = unrecorded(findings, '0.2.0', '0.3.0', changelog('- `WireguardGateway.scheduling` is an IGatewayScheduling.'));
    expect(problems.map((p) => p.split(' (')[0])).toEqual([
      'not in CHANGELOG.md\'s breaking changes of 0.3.0: `WireguardGatewayProps.mtu`',
      'not in CHANGELOG.md\'s breaking changes of 0.3.0: `ProxiedServiceOptions.service`',
    ]);
  });

  test('passes when the version is bumped and every element is named under its breaking changes', () => {
    const recorded = changelog('- `WireguardGateway.scheduling` ...\n- `WireguardGatewayProps.mtu` is gone ...\n- `ProxiedServiceOptions.service` ...');
    expect(unrecorded(findings, '0.2.0', '0.3.0', recorded)).toEqual([]);
    expect(breakingSection(recorded, '0.3.0')).not.toContain('outside the breaking changes');
  });
});
