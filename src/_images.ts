/**
 * Container image references (`initImage`, `nginxImage`): the grammar of the
 * distribution reference (`[host[:port]/]path[:tag][@digest]`), and pinning
 * by digest. A tag can be moved to other content by whoever can push to the
 * repository; a digest names the content itself, so the kubelet runs exactly
 * the image that was reviewed (the init image runs privileged).
 */
import { invalid } from './_errors';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
/**
 * A registry: "localhost" or DNS labels joined by "." (at least one "."), with
 * an optional port, or one label with a port. Anything else in the first place
 * is the repository's first component, which must be lower case.
 */
const HOST = `(?:(?:localhost|${LABEL}(?:\\.${LABEL})+)(?::[0-9]+)?|${LABEL}:[0-9]+)`;
/** A path component: lowercase letters and digits, separated by ".", "_", "__" or dashes. */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const REFERENCE = new RegExp(`^(?:(${HOST})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?$`);
const DIGEST = /^sha256:[0-9a-f]{64}$/;

const SHAPE = 'must be an image reference: [registry[:port]/]repository[:tag][@sha256:<64 hexadecimal digits>], the repository in lower case';
const DIGEST_FIX = 'copy the digest your registry reports for the image you reviewed (crane digest <image>, or docker buildx imagetools inspect <image>), or drop "@..." to pin by tag only';

/**
 * Checks an image reference; returns it unchanged. A first path component
 * with a "." or ":" (or "localhost") is a registry, as the container runtimes
 * read it.
 */
export function checkImage(path: string, prop: string, value: string): string {
  const at = typeof value === 'string' ? value.indexOf('@') : -1;
  const name = at < 0 ? value : value.slice(0, at);
  if (typeof value !== 'string' || !REFERENCE.test(name) || name.length > 255) {
    throw invalid(path, prop, value, SHAPE, 'give a reference such as "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine", or leave the prop out for the default');
  }
  if (at >= 0) {
    const digest = value.slice(at + 1);
    if (!DIGEST.test(digest)) {
      const hex = digest.startsWith('sha256:') ? digest.slice(7) : digest;
      const why = !digest.startsWith('sha256:')
        ? 'a digest must start with "sha256:"'
        : `a sha256 digest is 64 lowercase hexadecimal digits (this one has ${hex.length} characters${/[^0-9a-f]/.test(hex) ? ', not all of them lowercase hexadecimal digits' : ''})`;
      throw invalid(path, prop, value, why, DIGEST_FIX);
    }
  }
  return value;
}
