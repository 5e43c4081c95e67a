/**
 * Authorisation, decided in ONE place: `authorize(principal, action, resource)` answers allow, or
 * deny with a reason and how the denial must look on the wire. Routes never compare roles
 * themselves; they name the action and the object (its tenant, its owner) and map the decision.
 *
 * The model:
 * - admin: everything, every tenant.
 * - operator: runs the hall: reads every tenant's objects, manages nodes, tenants, projects,
 *   memberships (up to tenant-admin) and the Unix accounts members' jobs run as, budgets and
 *   prices, reads the audit log, cancels any job.
 * - tenant-admin: everything inside their own tenant (jobs, projects, members up to tenant-admin,
 *   tokens of the tenant's members, usage), nothing outside it.
 * - member: submits, reads and cancels their tenant's jobs; reads the tenant's usage; manages
 *   their own tokens.
 * - viewer: reads their tenant's jobs and usage and the inventory; changes nothing.
 *
 * Another tenant's object is denied as `hidden` (the route answers 404, exactly as for an id that
 * does not exist), so ids of other tenants do not leak; a visible object the role may not change
 * is denied as `forbidden` (403).
 */
import type { Role } from '@suanli/store';
import type { Principal } from './auth.js';

export type Action =
  | 'whoami'
  | 'job.submit'
  | 'job.list'
  | 'job.read'
  | 'job.cancel'
  | 'node.read'
  | 'node.manage'
  | 'policy.read'
  | 'policy.manage'
  | 'tenant.list'
  | 'tenant.read'
  | 'tenant.create'
  | 'project.read'
  | 'project.create'
  | 'member.read'
  | 'member.manage'
  /** Choose the Unix account a member's jobs run as: platform roles only (privilege escalation otherwise). */
  | 'member.unix-user'
  | 'token.read'
  | 'token.create'
  | 'token.revoke'
  | 'audit.read'
  | 'usage.read'
  | 'budget.read'
  | 'budget.manage'
  | 'price.read'
  | 'price.manage';

/**
 * What is acted on. `tenant` is the object's tenant (null: a platform-wide object such as a node
 * or a price); `subject` its owner where ownership matters (a token); `grantRole` the role a
 * membership or token would carry (nobody may grant more than they hold).
 */
export interface Resource {
  readonly tenant: string | null;
  readonly subject?: string;
  readonly grantRole?: Role;
}

export type Decision =
  | { readonly allow: true }
  | { readonly allow: false; readonly how: 'forbidden' | 'hidden'; readonly reason: string };

const ALLOW: Decision = { allow: true };

/** Roles ordered by power, for "may not grant more than you hold". */
const RANK: Readonly<Record<Role, number>> = {
  viewer: 0,
  member: 1,
  'tenant-admin': 2,
  operator: 3,
  admin: 4,
};

/** Actions that only read. A viewer may do these inside their tenant. */
const READS: ReadonlySet<Action> = new Set<Action>([
  'whoami',
  'job.list',
  'job.read',
  'node.read',
  'policy.read',
  'tenant.list',
  'tenant.read',
  'project.read',
  'usage.read',
  'budget.read',
  'price.read',
  'token.read',
]);

/** What each tenant-scoped role may do inside its own tenant. */
const TENANT_ROLE_ACTIONS: Readonly<Record<'tenant-admin' | 'member' | 'viewer', ReadonlySet<Action>>> = {
  'tenant-admin': new Set<Action>([
    ...READS,
    'job.submit',
    'job.cancel',
    'project.create',
    'member.read',
    'member.manage',
    'token.create',
    'token.revoke',
  ]),
  member: new Set<Action>([...READS, 'job.submit', 'job.cancel', 'token.create', 'token.revoke']),
  viewer: READS,
};

/** What an operator may NOT do (everything else it may, in every tenant). */
const OPERATOR_DENIED: ReadonlySet<Action> = new Set<Action>(['job.submit']);

function forbidden(p: Principal, action: Action): Decision {
  return { allow: false, how: 'forbidden', reason: `your role "${p.role}" may not do ${action}` };
}

export function authorize(p: Principal, action: Action, resource: Resource): Decision {
  // Visibility first: another tenant's object must not even reveal what it would take to touch it.
  if (!isPlatformRole(p.role) && resource.tenant !== null && resource.tenant !== p.tenant)
    return { allow: false, how: 'hidden', reason: `not visible outside tenant "${resource.tenant}"` };
  if (resource.grantRole !== undefined && RANK[resource.grantRole] > RANK[p.role])
    return {
      allow: false,
      how: 'forbidden',
      reason: `your role "${p.role}" may not grant the more powerful role "${resource.grantRole}"`,
    };
  if (p.role === 'admin') return ALLOW;
  if (p.role === 'operator') {
    if (OPERATOR_DENIED.has(action) && resource.tenant !== p.tenant) return forbidden(p, action);
    // Operators act on platform objects and on tenants, not as tenants (except their own home tenant).
    if (
      action === 'member.manage' &&
      resource.grantRole !== undefined &&
      RANK[resource.grantRole] >= RANK.operator
    )
      return forbidden(p, action);
    return ALLOW;
  }
  // Tenant-scoped roles from here on.
  const allowed = TENANT_ROLE_ACTIONS[p.role];
  // Platform-wide objects: readable, never manageable.
  if (resource.tenant === null)
    return READS.has(action) && allowed.has(action) ? ALLOW : forbidden(p, action);
  if (resource.tenant !== p.tenant)
    return { allow: false, how: 'hidden', reason: `not visible outside tenant "${resource.tenant}"` };
  if (!allowed.has(action)) return forbidden(p, action);
  // Members manage only their own tokens; tenant-admins every token of their tenant.
  if (
    (action === 'token.create' || action === 'token.revoke' || action === 'token.read') &&
    p.role !== 'tenant-admin' &&
    resource.subject !== undefined &&
    resource.subject !== p.subject
  )
    return action === 'token.read' || action === 'token.revoke'
      ? { allow: false, how: 'hidden', reason: 'not your token' }
      : forbidden(p, action);
  return ALLOW;
}

/** Platform roles see and act across tenants. */
export function isPlatformRole(role: Role): boolean {
  return role === 'admin' || role === 'operator';
}
