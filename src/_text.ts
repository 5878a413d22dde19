/**
 * Helpers shared by the renderers of generated text.
 */

/**
 * Makes any user text safe for a one-line comment in nginx.conf, a shell script
 * or a WireGuard config: only letters, digits and `. _ / : -` survive, anything
 * else (newlines, quotes, `;`, `$`, braces, unicode) becomes `_`. Long text is
 * cut, so a comment can never spill into the next line or the next directive.
 */
export function commentText(text: string, max = 200): string {
  const clean = String(text).replace(/[^A-Za-z0-9._/:-]/g, '_');
  return clean.length > max ? clean.slice(0, max) + '...' : clean;
}

/** Lines joined with "\n", ending with one newline. */
export function lines(...parts: Array<string | string[]>): string {
  return parts.flat().join('\n') + '\n';
}

/** A dotted-quad address (already validated) and a port as one sortable number. */
function addressKey(address: string, port: number): number {
  const [a, b, c, d] = address.split('.').map(Number);
  return ((a * 256 + b) * 256 + c) * 256 * 256 * 256 + d * 65536 + port;
}

/**
 * Items sorted by address (numerically) then port, so rendered files do not
 * depend on definition order. Each key is computed once, not per comparison.
 */
export function sortByAddress<T extends { readonly address: string; readonly listenPort?: number }>(items: Iterable<T>): T[] {
  return [...items]
    .map((item) => ({ item, key: addressKey(item.address, item.listenPort ?? 0) }))
    .sort((x, y) => x.key - y.key)
    .map(({ item }) => item);
}

/** Distinct addresses, sorted numerically. */
export function sortAddresses(addresses: Iterable<string>): string[] {
  return sortByAddress([...new Set(addresses)].map((address) => ({ address }))).map((a) => a.address);
}
