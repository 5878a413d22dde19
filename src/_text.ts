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

/** Sort routes by address (numerically) then port, so rendered files do not depend on definition order. */
export function byAddressThenPort<T extends { readonly address: string; readonly listenPort: number }>(a: T, b: T): number {
  const pa = a.address.split('.').map(Number);
  const pb = b.address.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    if (pa[i] !== pb[i]) return pa[i] - pb[i];
  }
  return a.listenPort - b.listenPort;
}
