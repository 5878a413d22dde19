/**
 * Image references (src/_images.ts): what initImage and nginxImage accept,
 * pinned by digest or not, and what they refuse, with the library's message.
 */
import { findObject, synth, testGateway } from './util';
import { WireguardGateway } from '../src';
import { checkImage } from '../src/_images';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('image references', () => {
  test.each([
    WireguardGateway.DEFAULT_INIT_IMAGE,
    WireguardGateway.DEFAULT_NGINX_IMAGE,
    `${WireguardGateway.DEFAULT_INIT_IMAGE}@${DIGEST}`,
    `docker.io/nginxinc/nginx-unprivileged@${DIGEST}`,
    'nginx',
    'nginx:1.28',
    'registry.example.com:5000/team/nginx:1.28.0-alpine',
    'localhost:5000/wg:dev',
    'my-registry:5000/wg',
    'ghcr.io/a__b/c-d--e.f:Tag_1.x',
  ])('accepts %s', (image) => {
    expect(checkImage('test/gw', 'initImage', image)).toBe(image);
  });

  test.each<[string, RegExp]>([
    ['Nginx:1.28', /must be an image reference/],
    ['MyOrg/wireguard:1', /must be an image reference/],
    ['nginx:', /must be an image reference/],
    ['docker.io//nginx', /must be an image reference/],
    ['https://docker.io/nginx', /must be an image reference/],
    ['docker.io/nginx:tag with space', /must be an image reference/],
    ['', /must be an image reference/],
    [`nginx:1.28@${DIGEST.replace('sha256', 'sha512')}`, /a digest must start with "sha256:"/],
    ['nginx:1.28@sha256:abc', /a sha256 digest is 64 lowercase hexadecimal digits \(this one has 3 characters\)/],
    [`nginx:1.28@${DIGEST.toUpperCase().replace('SHA256', 'sha256')}`, /\(this one has 64 characters, not all of them lowercase hexadecimal digits\)/],
    [`nginx:1.28@${DIGEST}0`, /\(this one has 65 characters\)/],
    [`nginx:1.28@${DIGEST}@${DIGEST}`, /\(this one has 136 characters, not all of them lowercase hexadecimal digits\)/],
  ])('fails if the reference is %j', (image, message) => {
    expect(() => checkImage('test/gw', 'nginxImage', image)).toThrow(message);
    expect(() => checkImage('test/gw', 'nginxImage', image)).toThrow(new RegExp(`^test/gw: invalid nginxImage ${JSON.stringify(image).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*\\. Fix: `));
  });

  test('the gateway checks both props, and puts a pinned image into every container that runs it', () => {
    expect(() => testGateway({ initImage: 'docker.io/linuxserver/wireguard@sha256:nope' })).toThrow(/^test\/gw: invalid initImage /);
    expect(() => testGateway({ nginxImage: 'NGINX' })).toThrow(/^test\/gw: invalid nginxImage "NGINX"/);
    const init = `${WireguardGateway.DEFAULT_INIT_IMAGE}@${DIGEST}`;
    const nginx = `${WireguardGateway.DEFAULT_NGINX_IMAGE}@${DIGEST}`;
    const gw = testGateway({ initImage: init, nginxImage: nginx });
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const pod = findObject(synth(gw), 'Deployment').spec.template.spec;
    expect([...pod.initContainers, ...pod.containers].map((c: any) => `${c.name} ${c.image}`)).toEqual([
      `wireguard-init ${init}`, `nginx ${nginx}`, `wireguard-agent ${init}`,
    ]);
  });
});
