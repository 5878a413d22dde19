/**
 * System tier: real `nginx -t`, and start-nginx.sh's own check under busybox
 * (what a pod runs on a configuration it takes live), on every distinct
 * nginx.conf the unit tier rendered (recorded by test/util.ts recordNginxConf:
 * every synthesized chart, every renderer test, the property test's samples).
 * Run the unit tier first.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gatewaySpec } from './spec-fixtures';
import { ASSETS } from './stand-ins';
import { busyboxShell, nginxTester } from './system-util';
import { NGINX_CONF_DIR } from './util';
import { renderStartSettings } from '../src/_render-data';

describe('every nginx.conf the unit tier rendered passes real nginx -t', () => {
  const files = existsSync(NGINX_CONF_DIR) ? readdirSync(NGINX_CONF_DIR).filter((f) => f.endsWith('.conf')).sort() : [];

  test('the unit tier recorded them', () => {
    if (files.length === 0) {
      throw new Error(`no rendered nginx.conf in ${NGINX_CONF_DIR}: run the unit tier first (npx projen test), then this tier`);
    }
    // Every synthesized gateway and renderer test records (59 distinct files when this was written).
    expect(files.length).toBeGreaterThan(20);
  });

  test('nginx -t accepts each one', () => {
    const confs = files.map((f) => readFileSync(join(NGINX_CONF_DIR, f), 'utf-8'));
    const tester = nginxTester(confs);
    const failed: string[] = [];
    try {
      confs.forEach((conf, i) => {
        try {
          tester.test(conf);
        } catch (e) {
          failed.push(`${files[i]}: ${(e as Error).message}`);
        }
      });
    } finally {
      tester.close();
    }
    // eslint-disable-next-line no-console
    console.log(`nginx -t: ${confs.length - failed.length} of ${confs.length} recorded nginx.conf files pass`);
    expect(failed).toEqual([]);
  }, 600_000);

  test('start-nginx.sh\'s check (busybox sh and awk, as in the nginx image) accepts each one with its gateway\'s service network', () => {
    const shell = busyboxShell();
    const dir = mkdtempSync(join(tmpdir(), 'wggw-check-'));
    const failed: string[] = [];
    try {
      for (const f of files) {
        const net = readFileSync(join(NGINX_CONF_DIR, f.replace(/\.conf$/, '.net')), 'utf-8').trim();
        writeFileSync(join(dir, 'start.env'), renderStartSettings(gatewaySpec({ serviceNetwork: net })));
        const r = spawnSync(shell.cmd[0], [...shell.cmd.slice(1), join(ASSETS, 'start-nginx.sh'), 'check', join(NGINX_CONF_DIR, f)], {
          env: { PATH: `${shell.path}:${process.env.PATH}`, CONFIG_DIR: dir }, encoding: 'utf-8',
        });
        if (r.status !== 0) failed.push(`${f} (${net}): ${r.stderr}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // eslint-disable-next-line no-console
    console.log(`start-nginx.sh check: ${files.length - failed.length} of ${files.length} recorded nginx.conf files pass`);
    expect(failed).toEqual([]);
  }, 600_000);
});
