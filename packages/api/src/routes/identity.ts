/**
 * Identity (under /api/v1/orgs: GET /api/v1/tenants is the policy view of tenants and quotas): tenants, their projects and members (subject + role), and API tokens. Every decision
 * goes through `authorize()`; another tenant's objects answer 404 like missing ones.
 *
 * Tokens: the secret is returned once by POST /api/v1/tokens and never again (only its salted
 * hash is stored); listings show the public id. A token acts with the CURRENT role of its subject's
 * membership in the token's tenant, so a token needs a membership to be created and stops working
 * when the membership is removed.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { tenantAccountName } from '@suanli/executors';
import type { ApiTokenRecord, MembershipRecord, ProjectRecord, TenantRecord } from '@suanli/store';
import { ApiError } from '../errors.js';
import { issueToken } from '../auth.js';
import { authorize, isPlatformRole } from '../authz.js';
import {
  MemberListSchema,
  MemberSetSchema,
  MemberViewSchema,
  NAME_PATTERN,
  ProjectCreateSchema,
  ProjectListSchema,
  ProjectViewSchema,
  SUBJECT_PATTERN,
  TenantCreateSchema,
  TenantListSchema,
  TenantViewSchema,
  TokenCreateSchema,
  TokenCreatedSchema,
  TokenListSchema,
  TokenViewSchema,
  type MemberView,
  type ProjectView,
  type TenantView,
  type TokenView,
} from '@suanli/schemas';
import { superuserReason } from '../unix-accounts.js';
import { authorizeRequest, errorResponses, principal, type RouteContext } from './common.js';
import { typed } from './typed.js';

/**
 * Live (not revoked, not expired) API tokens one subject may hold: enough for every machine and
 * CI job a person runs, few enough that tokens cannot be minted to multiply anything keyed on them.
 */
export const MAX_LIVE_TOKENS_PER_SUBJECT = 20;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const tenantView = (t: TenantRecord): TenantView => ({
  name: t.name,
  displayName: t.displayName,
  createdAt: new Date(t.createdAt).toISOString(),
});
const projectView = (p: ProjectRecord): ProjectView => ({
  tenant: p.tenant,
  name: p.name,
  createdAt: new Date(p.createdAt).toISOString(),
});
const memberView = (m: MembershipRecord): MemberView => ({
  tenant: m.tenant,
  subject: m.subject,
  role: m.role,
  createdAt: new Date(m.createdAt).toISOString(),
  unixUser: m.unixUser ?? null,
  runsAs: m.unixUser ?? tenantAccountName(m.tenant),
});
export const tokenView = (t: ApiTokenRecord): TokenView => ({
  id: t.id,
  name: t.name,
  subject: t.subject,
  tenant: t.tenant,
  createdBy: t.createdBy,
  createdAt: new Date(t.createdAt).toISOString(),
  expiresAt: iso(t.expiresAt),
  revokedAt: iso(t.revokedAt),
});

const tenantParams = Type.Object({ tenant: Type.String({ pattern: NAME_PATTERN }) });
const memberParams = Type.Object({
  tenant: Type.String({ pattern: NAME_PATTERN }),
  subject: Type.String({ pattern: SUBJECT_PATTERN }),
});
const tokenParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{12}$' }) });

export function registerIdentityRoutes(fastify: FastifyInstance, { store, clock }: RouteContext): void {
  const app = typed(fastify);
  /** The tenant must exist and be visible to the caller (404 TENANT_NOT_FOUND otherwise). */
  async function visibleTenant(
    tenant: string,
    action: Parameters<typeof authorize>[1],
    req: Parameters<typeof principal>[0],
  ) {
    authorizeRequest(req, action, { tenant }, 'TENANT_NOT_FOUND', `tenant "${tenant}"`);
    const t = await store.getTenant(tenant);
    if (!t) throw new ApiError('TENANT_NOT_FOUND', `no tenant "${tenant}"; list them with GET /api/v1/orgs`);
    return t;
  }

  app.get(
    '/api/v1/orgs',
    { schema: { summary: 'Tenants visible to you', response: { 200: TenantListSchema, ...errorResponses } } },
    async (req) => {
      const p = principal(req);
      const all = await store.listTenants();
      return {
        tenants: all.filter((t) => authorize(p, 'tenant.read', { tenant: t.name }).allow).map(tenantView),
      };
    },
  );

  app.post(
    '/api/v1/orgs',
    {
      schema: {
        summary: 'Create a tenant (operators, admins)',
        body: TenantCreateSchema,
        response: { 201: TenantViewSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      authorizeRequest(req, 'tenant.create');
      const b = req.body;
      const t = { name: b.name, displayName: b.displayName ?? b.name, createdAt: clock() };
      if (!(await store.createTenant(t)))
        throw new ApiError('ALREADY_EXISTS', `tenant "${b.name}" exists already`);
      void reply.status(201);
      return tenantView(t);
    },
  );

  app.get(
    '/api/v1/orgs/:tenant/projects',
    {
      schema: {
        summary: "A tenant's projects",
        params: tenantParams,
        response: { 200: ProjectListSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant } = req.params;
      await visibleTenant(tenant, 'project.read', req);
      return { projects: (await store.listProjects(tenant)).map(projectView) };
    },
  );

  app.post(
    '/api/v1/orgs/:tenant/projects',
    {
      schema: {
        summary: 'Create a project (after the first, submissions must name a registered project)',
        params: tenantParams,
        body: ProjectCreateSchema,
        response: { 201: ProjectViewSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { tenant } = req.params;
      await visibleTenant(tenant, 'project.read', req);
      authorizeRequest(req, 'project.create', { tenant }, 'TENANT_NOT_FOUND');
      const { name } = req.body;
      const p = { tenant, name, createdAt: clock() };
      if (!(await store.createProject(p)))
        throw new ApiError('ALREADY_EXISTS', `tenant "${tenant}" has a project "${name}" already`);
      void reply.status(201);
      return projectView(p);
    },
  );

  app.get(
    '/api/v1/orgs/:tenant/members',
    {
      schema: {
        summary: "A tenant's members and their roles",
        params: tenantParams,
        response: { 200: MemberListSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant } = req.params;
      await visibleTenant(tenant, 'tenant.read', req);
      authorizeRequest(req, 'member.read', { tenant }, 'TENANT_NOT_FOUND');
      return { members: (await store.listMemberships(tenant)).map(memberView) };
    },
  );

  app.put(
    '/api/v1/orgs/:tenant/members/:subject',
    {
      schema: {
        summary:
          "Add a member or change a member's role (nobody grants more than they hold); operators may map the member to a Unix account",
        params: memberParams,
        body: MemberSetSchema,
        response: { 200: MemberViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { tenant, subject } = req.params;
      const { role, unixUser } = req.body;
      await visibleTenant(tenant, 'tenant.read', req);
      const p = authorizeRequest(req, 'member.manage', { tenant, grantRole: role }, 'TENANT_NOT_FOUND');
      const existing = await store.getMembership(tenant, subject);
      // Changing an existing member's role needs the power to grant their current role too.
      if (existing)
        authorizeRequest(req, 'member.manage', { tenant, grantRole: existing.role }, 'TENANT_NOT_FOUND');
      // The account jobs run as is the operator's to choose: a member (or their tenant admin)
      // picking it could run jobs as any user of the host. Absent: the stored mapping is kept.
      if (unixUser !== undefined) {
        const d = authorize(p, 'member.unix-user', { tenant });
        if (!d.allow)
          throw new ApiError(
            'UNIX_USER_OPERATOR_ONLY',
            `your role "${p.role}" may not choose the Unix account jobs run as; send the role alone, or ask an operator`,
            [{ path: 'body.unixUser', message: 'settable by operators and admins only' }],
          );
        const why = unixUser === null ? null : await superuserReason(unixUser);
        if (why !== null)
          throw new ApiError('UNIX_USER_FORBIDDEN', `unixUser "${unixUser}" refused: ${why}`, [
            { path: 'body.unixUser', message: why },
          ]);
      }
      await store.setMembership({
        tenant,
        subject,
        role,
        createdAt: existing?.createdAt ?? clock(),
        ...(unixUser !== undefined ? { unixUser } : {}),
      });
      const stored = await store.getMembership(tenant, subject);
      if (!stored)
        throw new ApiError('STATE_CONFLICT', `"${subject}" was removed from "${tenant}" meanwhile; retry`);
      return memberView(stored);
    },
  );

  app.delete(
    '/api/v1/orgs/:tenant/members/:subject',
    {
      schema: {
        summary: "Remove a member (the subject's tokens in this tenant stop working at once)",
        params: memberParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { tenant, subject } = req.params;
      await visibleTenant(tenant, 'tenant.read', req);
      const existing = await store.getMembership(tenant, subject);
      authorizeRequest(
        req,
        'member.manage',
        { tenant, ...(existing ? { grantRole: existing.role } : {}) },
        'TENANT_NOT_FOUND',
      );
      if (!existing || !(await store.deleteMembership(tenant, subject)))
        throw new ApiError('MEMBER_NOT_FOUND', `"${subject}" is not a member of tenant "${tenant}"`);
      void reply.status(204);
      return null;
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      schema: {
        summary: "API tokens visible to you (yours; the tenant's for tenant admins; all for operators)",
        querystring: Type.Object(
          { tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN })) },
          { additionalProperties: false },
        ),
        response: { 200: TokenListSchema, ...errorResponses },
      },
    },
    async (req) => {
      const p = principal(req);
      const q = req.query;
      const tenant = q.tenant ?? (isPlatformRole(p.role) ? undefined : p.tenant);
      const rows = await store.listApiTokens(tenant !== undefined ? { tenant } : {});
      return {
        tokens: rows
          .filter((t) => authorize(p, 'token.read', { tenant: t.tenant, subject: t.subject }).allow)
          .map(tokenView),
      };
    },
  );

  // Token creation is serialised in this process, so two at once cannot both take the last slot.
  let tokenChain: Promise<unknown> = Promise.resolve();

  app.post(
    '/api/v1/tokens',
    {
      schema: {
        summary: 'Create an API token; the secret is in this answer only',
        body: TokenCreateSchema,
        response: { 201: TokenCreatedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principal(req);
      const b = req.body;
      const tenant = b.tenant ?? p.tenant;
      const subject = b.subject ?? p.subject;
      const member = await store.getMembership(tenant, subject);
      authorizeRequest(
        req,
        'token.create',
        { tenant, subject, ...(member ? { grantRole: member.role } : {}) },
        'TENANT_NOT_FOUND',
        `tenant "${tenant}"`,
      );
      if (!member)
        throw new ApiError(
          'MEMBER_NOT_FOUND',
          `"${subject}" is not a member of tenant "${tenant}"; add them with PUT /api/v1/orgs/${tenant}/members/${subject}`,
        );
      const create = async (): Promise<{ rec: ApiTokenRecord; token: string }> => {
        const now = clock();
        const live = (await store.listApiTokens({ subject })).filter(
          (t) => t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now),
        ).length;
        if (live >= MAX_LIVE_TOKENS_PER_SUBJECT)
          throw new ApiError(
            'TOO_MANY_TOKENS',
            `"${subject}" has ${live} live API tokens, the most a subject may have is ${MAX_LIVE_TOKENS_PER_SUBJECT}; revoke unused ones first (suanli token list, suanli token revoke ID)`,
          );
        const { token: text, id, hash } = issueToken();
        const r: ApiTokenRecord = {
          id,
          hash,
          subject,
          tenant,
          name: b.name,
          createdBy: p.subject,
          createdAt: now,
          expiresAt: b.expiresInSeconds !== undefined ? now + b.expiresInSeconds * 1000 : null,
          revokedAt: null,
        };
        await store.createApiToken(r);
        return { rec: r, token: text };
      };
      const run = tokenChain.then(create);
      tokenChain = run.catch(() => undefined);
      const { rec, token } = await run;
      void reply.status(201);
      return { token, info: tokenView(rec) };
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      schema: {
        summary: 'Revoke an API token (at once; revoking twice is fine)',
        params: tokenParams,
        response: { 200: TokenViewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { id } = req.params;
      const t = await store.getApiToken(id);
      if (!t) throw new ApiError('TOKEN_NOT_FOUND', `no token "${id}"`);
      authorizeRequest(
        req,
        'token.revoke',
        { tenant: t.tenant, subject: t.subject },
        'TOKEN_NOT_FOUND',
        `token ${id}`,
      );
      await store.revokeApiToken(id, clock());
      const after = await store.getApiToken(id);
      return tokenView(after ?? t);
    },
  );
}
