/**
 * What each role may do, as the console sees it. The server is the authority (it answers 403);
 * the console uses this table only to leave out buttons a user may not press. Keep it in step with
 * the `requireRole` calls in packages/api/src/app.ts. An unknown role may do nothing.
 */
export const ROLES = ['admin', 'operator', 'tenant-admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export type Action = 'job.submit' | 'job.cancel' | 'node.drain';

const ALLOWED: Readonly<Record<Action, readonly Role[]>> = {
  'job.submit': ['admin', 'operator', 'tenant-admin', 'member'],
  'job.cancel': ['admin', 'operator', 'tenant-admin', 'member'],
  'node.drain': ['admin', 'operator'],
};

export function can(role: string | null | undefined, action: Action): boolean {
  return role !== null && role !== undefined && (ALLOWED[action] as readonly string[]).includes(role);
}

/** Platform roles see every tenant (and may pick one to list); tenant roles only their own. */
export function isPlatformRole(role: string | null | undefined): boolean {
  return role === 'admin' || role === 'operator';
}
