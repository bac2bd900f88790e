/**
 * Who may purge: the HTTP API's users and rules (core/http/auth.ts). A PURGE
 * or a tag purge authenticates like any HTTP API request (Basic or Bearer,
 * or nothing while the `default` user is open) and is checked as the RESP
 * command it amounts to: DM.DEL on the edge map, of the URL's path for
 * PURGE (`~edge/*` grants every path) and of `*` for a tag purge.
 */
import { credentials, type HttpAuthNode } from "../http/auth.ts";
import type { AclUser } from "../protocol/acl.ts";
import type { PurgeAuthorizer } from "./edge-cache.ts";

/** A refusal: 401 without valid credentials, 403 when the user may not delete from the edge map. */
export interface PurgeRefusal {
  status: number;
  message: string;
}

/** Checks the `Authorization` value of a purge of `key` (a path, or "*" for tags) from map `mapName`. */
export function checkPurge(node: HttpAuthNode, mapName: string, authorization: string | null, key: string): PurgeRefusal | null {
  let user: AclUser | null = null;
  if (authorization === null || authorization === "") user = node.acl.defaultIsOpen() ? node.acl.defaultUser : null;
  else {
    for (const [name, pass] of credentials(authorization)) {
      user = node.acl.authenticate(name, pass);
      if (user !== null) break;
    }
  }
  if (user === null) return { status: 401, message: "purge needs Authorization: Bearer <user>:<password> (or Basic) for a configured user" };
  if (user.unrestricted) return null;
  const command = node.commands.byName.get("dm.del");
  if (command === undefined) return { status: 403, message: "NOPERM purging needs DM.DEL" };
  const denied = node.acl.checkParts(user, command, { map: mapName, keys: [key] });
  return denied === null ? null : { status: 403, message: denied };
}

/** The PURGE check of the edge port: DM.DEL of the URL's path in the edge map. */
export function purgeAuthorizer(node: HttpAuthNode, mapName: string): PurgeAuthorizer {
  return (req, url) => {
    let path = url;
    try {
      path = new URL(url).pathname;
    } catch {
      // keep the whole URL as the key name
    }
    return checkPurge(node, mapName, req.header("authorization"), path);
  };
}
