/**
 * Checks on the construct ids of routes and peers. An id is a route's or a
 * peer's name: it reaches comments, the connection map and the hosts file, and
 * shares one namespace with the gateway's own children.
 */
import { Construct } from 'constructs';
import { invalid } from './_errors';

/**
 * Throws the library's message, before the construct is created, when `id`
 * cannot be a child of `scope`: empty, already taken (a route and a peer of the
 * same name, or a name the gateway uses for its own objects), or the name of a
 * JavaScript object member ("toString", "__proto__", ...), which `constructs`
 * reports as a duplicate.
 */
export function checkChildId(scope: Construct, id: string, what: string): void {
  const path = `${scope.node.path}/${id}`;
  if (typeof id !== 'string' || id.length === 0) {
    throw invalid(scope.node.path, `${what} id`, id, 'must be a non-empty string', `give the ${what} a name, for example "db"`);
  }
  const sanitized = id.split('/').join('--');
  if (sanitized in Object.prototype) {
    throw invalid(path, `${what} id`, id, 'names of JavaScript object members (toString, constructor, __proto__, ...) cannot be construct ids',
      `pick another name, for example "${sanitized.replace(/[^A-Za-z0-9-]/g, '')}-1"`);
  }
  const existing = scope.node.tryFindChild(sanitized);
  if (existing !== undefined) {
    throw invalid(path, `${what} id`, id, `${scope.node.path} already has a child named ${JSON.stringify(sanitized)} (${existing.constructor.name})`,
      `give the ${what} a name that no other route, peer or part of the same scope uses`);
  }
}
