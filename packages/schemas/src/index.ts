/**
 * Wire schemas of the public API (TypeBox → JSON Schema → OpenAPI) and their static types: the
 * API validates with them and the typed client imports the types, so the CLI, the console and the
 * server agree on every shape. This package imports nothing but TypeBox and the pure core, so the
 * client depends on it without pulling in the server (engine, stores, native modules).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  CHECKPOINT_SIGNALS,
  FRAMEWORKS,
  JOB_SPEC_LIMITS,
  JOB_SPEC_PATTERNS,
  RESERVED_ENV_NAMES,
  RESERVED_ENV_PREFIXES,
  RETRYABLE_OUTCOMES,
} from '@suanli/core/job-spec';
import { JOB_STATES } from '@suanli/core/lifecycle';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** The job states: the core's lifecycle is their one source. */
export const JOB_STATE_VALUES = JOB_STATES;
export const JobStateSchema = Type.Union(JOB_STATE_VALUES.map((s) => Type.Literal(s)));

export const PENDING_VERDICT_VALUES = [
  'waits-for-capacity',
  'waits-for-quota',
  'can-never-fit',
  'behind-booking',
  'waits-for-turn',
] as const;
export const PendingVerdictSchema = Type.Union(PENDING_VERDICT_VALUES.map((s) => Type.Literal(s)));

export const ErrorDetailSchema = Type.Object({ path: Type.String(), message: Type.String() });
export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable error code; see docs/errors.md' }),
      message: Type.String({ description: 'What went wrong and what to fix' }),
      details: Type.Optional(Type.Array(ErrorDetailSchema)),
    }),
  },
  { $id: 'ErrorBody' },
);
export type ErrorBody = Static<typeof ErrorBodySchema>;

/** A regular expression's source without its anchors, to compose into a larger pattern. */
const unanchored = (p: string): string => p.replace(/^\^/, '').replace(/\$$/, '');
const L = JOB_SPEC_LIMITS;
const NUL_FREE = '^[^\\u0000]*$';
/** `compileJobSpec` trims durations and sizes; `\s` is the set `String.prototype.trim` removes. */
const trimmed = (p: string): string => `^\\s*(?:${unanchored(p)})\\s*$`;
/** A positive duration: "90s", "30m", "2h", "1d12h" or a number of seconds (a non-zero digit somewhere). */
const DURATION_PATTERN = `^\\s*(?=\\S*[1-9])(?:\\d+|${unanchored(JOB_SPEC_PATTERNS.duration)})\\s*$`;
/** Variable names a spec may set: not reserved (SUANLI_*, device pinning), at most envNameMaxChars. */
const ENV_NAME_PATTERN =
  RESERVED_ENV_PREFIXES.map((p) => `(?!${p})`).join('') +
  `(?!(?:${RESERVED_ENV_NAMES.join('|')})$)` +
  unanchored(JOB_SPEC_PATTERNS.envName).replace(/\*$/, `{0,${L.envNameMaxChars - 1}}`);
/** "USR1", "SIGUSR1", "sigusr1" is not: an upper-case SIG prefix, then the name in any case. */
const SIGNAL_PATTERN = `^(?:SIG)?(?:${CHECKPOINT_SIGNALS.map((sig) =>
  [...sig.slice(3)].map((c) => (/[A-Z]/.test(c) ? `[${c}${c.toLowerCase()}]` : c)).join(''),
).join('|')})$`;
const Name = (description: string) =>
  Type.String({ description, pattern: JOB_SPEC_PATTERNS.name, maxLength: L.nameMaxChars });
const Duration = (description?: string) =>
  Type.String({ pattern: DURATION_PATTERN, ...(description !== undefined ? { description } : {}) });

/**
 * The job spec as users write it, built from the core's `JOB_SPEC_LIMITS` and `JOB_SPEC_PATTERNS`.
 * Documentation only: the server validates specs with the core's `compileJobSpec`, which gives one
 * message per field that says what to fix. Every spec this schema accepts `compileJobSpec` accepts
 * and the reverse, except for what JSON Schema cannot say (a property test checks it):
 * - totals across fields: `command` and `env` in all, and the compiled spec as JSON;
 * - durations and sizes written as strings are bounded by their value (`timeLimit` at most 365
 *   days, `memory`, `checkpoint.grace` at most an hour), not by their form;
 * - lengths count UTF-16 code units (JSON Schema counts code points);
 * - `array` is split off before the spec is compiled and validated as an array expression.
 */
export const JobSpecInputSchema = Type.Object(
  {
    name: Name('Short name: letters, digits, ".", "_", "-"'),
    project: Type.Optional(Name('Project to charge (default "default")')),
    command: Type.Array(Type.String({ maxLength: L.argMaxChars, pattern: NUL_FREE }), {
      minItems: 1,
      maxItems: L.commandMaxArgs,
      description: `Program and arguments, at most ${L.commandMaxTotalChars} characters in all`,
    }),
    workingDir: Type.Optional(
      Type.String({
        description: 'Absolute path',
        pattern: '^/[^\\u0000]*$',
        maxLength: L.workingDirMaxChars,
      }),
    ),
    env: Type.Optional(
      Type.Record(
        Type.String({ pattern: `^${ENV_NAME_PATTERN}$` }),
        Type.Union([
          Type.String({ maxLength: L.envValueMaxChars, pattern: NUL_FREE }),
          Type.Number(),
          Type.Boolean(),
        ]),
        {
          maxProperties: L.envMaxVars,
          additionalProperties: false,
          description: `May not set SUANLI_* or device pinning; at most ${L.envMaxTotalChars} characters in all, names and values`,
        },
      ),
    ),
    resources: Type.Object(
      {
        accelerators: Type.Integer({
          minimum: 0,
          maximum: L.acceleratorsPerReplicaMax,
          description: 'Per replica',
        }),
        acceleratorType: Type.Optional(
          Type.Union(
            [
              Type.String({ pattern: JOB_SPEC_PATTERNS.acceleratorType, maxLength: L.nameMaxChars }),
              Type.Array(
                Type.String({ pattern: JOB_SPEC_PATTERNS.acceleratorType, maxLength: L.nameMaxChars }),
                {
                  minItems: 1,
                  maxItems: L.acceleratorTypesMax,
                },
              ),
            ],
            { description: 'A type or a list of acceptable types' },
          ),
        ),
        cpu: Type.Optional(
          Type.Number({ exclusiveMinimum: 0, maximum: L.cpuCoresMax, description: 'Cores per replica' }),
        ),
        memory: Type.Optional(
          Type.Union(
            [
              Type.String({ pattern: trimmed(JOB_SPEC_PATTERNS.memory) }),
              Type.Number({ minimum: 0, maximum: L.memoryMiBMax }),
            ],
            { description: `"16Gi", "512Mi" or MiB, at most ${L.memoryMiBMax} MiB` },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    replicas: Type.Optional(
      Type.Integer({ minimum: 1, maximum: L.replicasMax, description: 'Gang size (all-or-nothing)' }),
    ),
    timeLimit: Type.Optional(
      Type.Union([Duration(), Type.Integer({ minimum: 1, maximum: L.timeLimitSecondsMax })], {
        description: '"2h", "30m", or seconds; at most 365 days',
      }),
    ),
    priority: Type.Optional(
      Type.Union(
        [Name('Priority class'), Type.Integer({ minimum: -L.priorityAbsMax, maximum: L.priorityAbsMax })],
        {
          description: 'Class name or number',
        },
      ),
    ),
    retry: Type.Optional(
      Type.Object(
        {
          maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: L.maxAttemptsMax })),
          retryOn: Type.Optional(
            Type.Array(Type.Union(RETRYABLE_OUTCOMES.map((o) => Type.Literal(o))), {
              description: "user = failed (the job's error); platform = lost, node or device failure",
            }),
          ),
          backoff: Type.Optional(Type.Union([Duration(), Type.Integer({ minimum: 0 })])),
        },
        { additionalProperties: false },
      ),
    ),
    preemptible: Type.Optional(Type.Boolean()),
    checkpointInterval: Type.Optional(Type.Union([Duration(), Type.Integer({ minimum: 1 })])),
    framework: Type.Optional(
      Type.Union(
        FRAMEWORKS.map((f) => Type.Literal(f)),
        { description: "Launch contract: the framework's own variables and files (default pytorch)" },
      ),
    ),
    checkpoint: Type.Optional(
      Type.Object(
        {
          signal: Type.Optional(
            Type.String({ pattern: SIGNAL_PATTERN, description: CHECKPOINT_SIGNALS.join(', ') }),
          ),
          grace: Type.Optional(
            Type.Union([Duration(), Type.Integer({ minimum: 0, maximum: L.checkpointGraceSecondsMax })], {
              description: `"120s" or seconds, at most ${L.checkpointGraceSecondsMax}`,
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    array: Type.Optional(
      Type.Union([Type.String(), Type.Integer()], {
        description:
          'Make this a job array (sbatch --array): `0-999`, `0-15:4`, `1,3,5-7`, `%N` to run at most N tasks at once. Each task gets SUANLI_ARRAY_INDEX.',
      }),
    ),
  },
  { $id: 'JobSpecInput', additionalProperties: false },
);

export const ReplicaPlacementSchema = Type.Object({
  node: Type.String(),
  acceleratorIds: Type.Array(Type.String()),
  cpuMillis: Type.Number(),
  memoryMiB: Type.Number(),
});

/** How an attempt ended, as read from a transition's reason. */
const AttemptEndSchema = Type.Object({
  replica: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  exitCode: Nullable(Type.Integer()),
  outOfMemory: Nullable(
    Type.Object({ limitMiB: Nullable(Type.Integer()), peakMiB: Nullable(Type.Integer()) }),
  ),
  note: Nullable(Type.String({ description: 'English, as the executor wrote it' })),
});

/**
 * The structured part of a transition's reason (derived from it at the API boundary): what
 * clients render in the reader's language. `text` fields hold English the platform cannot
 * structure (a backend's message, a policy's preemption reason). Clients switch on `code`.
 */
export const TransitionDetailSchema = Type.Union([
  Type.Object({ code: Type.Literal('submitted') }),
  Type.Object({
    code: Type.Literal('scheduled'),
    how: Type.Union([
      Type.Literal('first-in-order'),
      Type.Literal('ahead-blocked'),
      Type.Literal('backfilled'),
      Type.Literal('in-booking'),
    ]),
    job: Nullable(Type.String()),
    reserved: Nullable(Type.Integer()),
    window: Nullable(Type.String()),
    tenant: Nullable(Type.String()),
  }),
  Type.Object({
    code: Type.Literal('cancelled'),
    by: Nullable(Type.String()),
    array: Type.Boolean(),
    end: Nullable(AttemptEndSchema),
  }),
  Type.Object({
    code: Type.Literal('requeued'),
    after: Type.Union([Type.Literal('preemption'), Type.Literal('restart'), Type.Literal('retry')]),
    text: Nullable(Type.String()),
  }),
  Type.Object({
    code: Type.Literal('not-retried'),
    text: Type.String(),
    used: Type.Integer(),
    max: Type.Integer(),
    retryOn: Type.String(),
  }),
  Type.Object({ code: Type.Literal('preempted'), text: Type.String(), end: Nullable(AttemptEndSchema) }),
  Type.Object({ code: Type.Literal('lost'), text: Type.String() }),
  Type.Object({ code: Type.Literal('completed'), note: Nullable(Type.String()) }),
  Type.Object({ code: Type.Literal('failed'), end: AttemptEndSchema, retrying: Type.Boolean() }),
  Type.Object({
    code: Type.Literal('timed-out'),
    limitSeconds: Type.Integer(),
    end: Nullable(AttemptEndSchema),
    retrying: Type.Boolean(),
  }),
  Type.Object({ code: Type.Literal('other'), text: Type.String() }),
]);
export type TransitionDetailView = Static<typeof TransitionDetailSchema>;

export const TransitionSchema = Type.Object({
  from: Nullable(JobStateSchema),
  to: JobStateSchema,
  at: Type.String({ format: 'date-time' }),
  reason: Type.String({
    description: 'English, for logs and older clients; `detail` is the same, structured',
  }),
  attempt: Type.Integer(),
  detail: Type.Optional(TransitionDetailSchema),
});
export type TransitionView = Static<typeof TransitionSchema>;

/** One attempt of a job: an ended one from the usage ledger, or the one starting/running now. */
export const AttemptSchema = Type.Object({
  attempt: Type.Integer(),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
  endState: Nullable(Type.String({ description: 'null: the attempt has not ended' })),
  acceleratorType: Nullable(
    Type.String({ description: "The devices' type (`a+b` for mixed, `none` for CPU-only)" }),
  ),
  accelerators: Type.Integer(),
  peakMemoryBytes: Nullable(
    Type.Integer({ description: 'Peak memory (largest replica); null: not measured' }),
  ),
  cpuTimeMs: Nullable(
    Type.Integer({ description: 'CPU time of all processes, user + system; null: not measured' }),
  ),
  step: Type.Optional(
    Nullable(Type.Integer({ description: 'Last `step=` the job reported (progress file)' })),
  ),
  checkpoint: Type.Optional(
    Nullable(Type.Integer({ description: 'Last `checkpoint=` the job reported (progress file)' })),
  ),
  stepsLost: Type.Optional(
    Nullable(
      Type.Integer({ description: 'Steps done after the last checkpoint: redone by the next attempt' }),
    ),
  ),
});
export type AttemptView = Static<typeof AttemptSchema>;

/**
 * The structured part of a pending verdict (`VerdictDetail` of @suanli/core, times as ISO 8601):
 * what clients render in the reader's language and time zone. Clients switch on `code`.
 */
const At = Type.String({ format: 'date-time' });
export const VerdictDetailSchema = Type.Union([
  Type.Object({ code: Type.Literal('expected-start'), at: At, reserved: Type.Boolean() }),
  Type.Object({ code: Type.Literal('estimated-start'), at: At }),
  Type.Object({
    code: Type.Literal('booked-until'),
    at: At,
    window: Type.String(),
    tenant: Nullable(Type.String()),
    acceleratorType: Type.String(),
  }),
  Type.Object({
    code: Type.Literal('runs-in-booking'),
    at: At,
    window: Type.String(),
    tenant: Type.String(),
  }),
  Type.Object({
    code: Type.Literal('needs-capacity'),
    need: Type.Integer({ description: 'Devices it needs in all' }),
    free: Type.Array(
      Type.Object({
        type: Nullable(Type.String({ description: 'null: the job needs no accelerator' })),
        free: Type.Integer(),
      }),
      { description: 'Free devices now, per type it may use' },
    ),
    at: Nullable(At),
    reserved: Type.Boolean(),
  }),
  Type.Object({ code: Type.Literal('preempting'), victims: Type.Array(Type.String()), at: At }),
  Type.Object({ code: Type.Literal('awaits-preempted'), victims: Type.Array(Type.String()), at: At }),
  Type.Object({
    code: Type.Literal('over-quota'),
    scope: Type.Union([Type.Literal('project'), Type.Literal('tenant'), Type.Literal('borrowing')]),
    tenant: Type.String(),
    project: Type.String(),
    acceleratorType: Type.String(),
    limit: Type.Integer(),
    used: Type.Integer(),
    need: Type.Integer(),
  }),
  Type.Object({
    code: Type.Literal('booking-full'),
    window: Type.String(),
    tenant: Type.String(),
    acceleratorType: Type.String(),
    used: Type.Integer(),
    entitlement: Type.Integer(),
  }),
  Type.Object({ code: Type.Literal('no-node-fits'), replicas: Type.Integer(), need: Type.Integer() }),
  Type.Object({
    code: Type.Literal('beyond-quota'),
    scope: Type.Union([Type.Literal('project'), Type.Literal('tenant'), Type.Literal('cohort')]),
    tenant: Type.String(),
    project: Type.String(),
    acceleratorType: Type.String(),
    limit: Type.Integer(),
    need: Type.Integer(),
  }),
  Type.Object({
    code: Type.Literal('behind-job'),
    job: Type.String(),
    order: Type.Union([Type.Literal('strict'), Type.Literal('fcfs')]),
  }),
  Type.Object({
    code: Type.Literal('not-considered'),
    limit: Type.Union([Type.Literal('budget'), Type.Literal('depth')]),
    value: Type.Integer(),
  }),
  Type.Object({ code: Type.Literal('behind-reservation'), job: Nullable(Type.String()) }),
  Type.Object({ code: Type.Literal('behind-booking'), window: Nullable(Type.String()), at: Nullable(At) }),
  Type.Object({ code: Type.Literal('array-throttle'), array: Type.String(), limit: Type.Integer() }),
]);
export type VerdictDetailView = Static<typeof VerdictDetailSchema>;

export const JobViewSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    tenant: Type.String(),
    project: Type.String(),
    submittedBy: Type.String(),
    state: JobStateSchema,
    priority: Type.Integer(),
    replicas: Type.Integer(),
    acceleratorsPerReplica: Type.Integer(),
    acceleratorTypes: Type.Array(Type.String()),
    command: Type.Array(Type.String()),
    timeLimitSeconds: Nullable(Type.Integer()),
    attempt: Type.Integer(),
    maxAttempts: Type.Integer(),
    submittedAt: Type.String({ format: 'date-time' }),
    startedAt: Nullable(Type.String({ format: 'date-time' })),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
    exitCode: Nullable(Type.Integer()),
    placement: Nullable(Type.Array(ReplicaPlacementSchema)),
    pending: Nullable(
      Type.Object({
        verdict: PendingVerdictSchema,
        reason: Type.String(),
        estimatedStart: Nullable(Type.String({ format: 'date-time' })),
        detail: Nullable(VerdictDetailSchema),
      }),
    ),
    cancelRequested: Type.Boolean(),
    transitions: Type.Optional(Type.Array(TransitionSchema)),
    attempts: Type.Optional(Type.Array(AttemptSchema)),
    arrayId: Type.Optional(Type.String({ description: 'Set for a job array task: the array id' })),
    arrayIndex: Type.Optional(Type.Integer({ description: 'Set for a job array task: its index' })),
  },
  { $id: 'JobView' },
);
export type JobView = Static<typeof JobViewSchema>;
/** JobView without its `$id`, for nesting in schemas that hold JobView once already (one `$id` per schema). */
const JobViewInline = Type.Object(JobViewSchema.properties);

/** A job array: what was submitted, task counts per state and (on its own page) a page of tasks. */
export const JobArrayViewSchema = Type.Object(
  {
    kind: Type.Literal('array'),
    id: Type.String({ description: 'Array id; task ids are `<id>_<index>` (Slurm convention)' }),
    name: Type.String(),
    tenant: Type.String(),
    project: Type.String(),
    submittedBy: Type.String(),
    submittedAt: Type.String({ format: 'date-time' }),
    array: Type.String({ description: 'Canonical expression with its throttle, e.g. `0-999%50`' }),
    throttle: Nullable(Type.Integer({ description: 'At most this many tasks active at once; null: no cap' })),
    size: Type.Integer({ description: 'Number of tasks' }),
    firstTaskId: Type.String(),
    lastTaskId: Type.String(),
    counts: Type.Record(Type.String(), Type.Integer(), {
      description: 'Tasks per state (states with none absent)',
    }),
    command: Type.Array(Type.String()),
    replicas: Type.Integer(),
    acceleratorsPerReplica: Type.Integer(),
    tasks: Type.Optional(Type.Array(JobViewInline, { description: 'A page of tasks, index order' })),
    nextCursor: Type.Optional(
      Nullable(Type.String({ description: 'Pass as ?cursor= for the next page of tasks' })),
    ),
    cancelled: Type.Optional(Type.Integer({ description: 'Cancel: tasks cancelled while waiting' })),
    cancelRequested: Type.Optional(
      Type.Integer({ description: 'Cancel: running tasks asked to stop (grace period, then killed)' }),
    ),
  },
  { $id: 'JobArrayView' },
);
export type JobArrayView = Static<typeof JobArrayViewSchema>;

export const JobListEntrySchema = Type.Object({
  job: Type.Optional(JobViewInline),
  array: Type.Optional(JobArrayViewSchema),
});
export type JobListEntry = Static<typeof JobListEntrySchema>;

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobViewSchema, { description: 'The page; with fold=true only jobs outside arrays' }),
  entries: Type.Optional(
    Type.Array(JobListEntrySchema, {
      description: 'With fold=true: the page as jobs and folded arrays (one entry each), newest first',
    }),
  ),
  nextCursor: Nullable(
    Type.String({ description: 'Pass as ?cursor= to get the next (older) page; null: no more' }),
  ),
  nextBefore: Nullable(
    Type.Integer({ description: 'Deprecated form of nextCursor: pass as ?before= to get the next page' }),
  ),
});
export type JobList = Static<typeof JobListSchema>;

export const AcceleratorViewSchema = Type.Object({
  id: Type.String(),
  index: Type.Integer(),
  type: Type.String(),
  vendor: Type.String(),
  source: Type.String({ description: 'nvidia-smi | npu-smi | slurm | declared' }),
  declared: Type.Boolean({ description: 'True for devices declared by the operator rather than discovered' }),
  model: Nullable(Type.String()),
  memoryMiB: Nullable(Type.Number()),
  healthy: Type.Boolean(),
  allocatedTo: Nullable(Type.String({ description: 'Job id holding the device' })),
});

export const NodeViewSchema = Type.Object(
  {
    name: Type.String(),
    state: Type.String(),
    adminState: Nullable(Type.String()),
    adminReason: Nullable(Type.String()),
    cpuMillis: Type.Number(),
    memoryMiB: Type.Number(),
    topology: Type.Record(Type.String(), Type.String()),
    accelerators: Type.Array(AcceleratorViewSchema),
    updatedAt: Type.String({ format: 'date-time' }),
    health: Type.Object(
      {
        state: Type.Union([Type.Literal('healthy'), Type.Literal('failing'), Type.Literal('unchecked')], {
          description: 'What the last round of health checks said (unchecked: none gave a verdict yet)',
        }),
        reason: Nullable(
          Type.String({ description: 'The failing checks, e.g. "program: /scratch is read-only"' }),
        ),
        since: Nullable(Type.String({ format: 'date-time' })),
        checkedAt: Nullable(Type.String({ format: 'date-time' })),
        drains: Type.Number({
          description: 'Times the platform drained the node for a failed check since the server started',
        }),
      },
      { description: 'Node health checks; a node that fails one is drained with adminReason "health: …"' },
    ),
  },
  { $id: 'NodeView' },
);
export type NodeView = Static<typeof NodeViewSchema>;
export const ConfinementSchema = Type.Object({
  confined: Type.Boolean({
    description: 'Whether the executor fences jobs (account, files, processes, devices, limits)',
  }),
  detail: Type.String({ description: 'One line: what is fenced, or why nothing is' }),
});
export type ConfinementView = Static<typeof ConfinementSchema>;
export const NodeListSchema = Type.Object({
  nodes: Type.Array(NodeViewSchema),
  confinement: ConfinementSchema,
});
export type NodeList = Static<typeof NodeListSchema>;

export const WhoAmISchema = Type.Object({
  subject: Type.String(),
  role: Type.String(),
  tenant: Type.String(),
});
export type WhoAmI = Static<typeof WhoAmISchema>;

export const HealthProblemSchema = Type.Object({
  code: Type.Union([Type.Literal('storage-full'), Type.Literal('log-not-writable')]),
  message: Type.String(),
  since: Type.Integer({ description: 'epoch ms' }),
});
/** `degraded`: still serving and scheduling, but `problems` need an operator (a full disk, a log it cannot write). */
export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  version: Type.String(),
  store: Type.String(),
  executor: Type.String(),
  problems: Type.Array(HealthProblemSchema),
});
export type Health = Static<typeof HealthSchema>;

// ---------------------------------------------------------------------------------------------
// Identity, audit, usage, budgets, prices
// ---------------------------------------------------------------------------------------------

export const ROLE_VALUES = ['admin', 'operator', 'tenant-admin', 'member', 'viewer'] as const;
export const RoleSchema = Type.Union(ROLE_VALUES.map((r) => Type.Literal(r)));
/** Tenant, project and subject names: what a path segment and a label can carry safely. */
export const NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';
export const SUBJECT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$';
/**
 * A Unix account name an operator maps a member to: `UNIX_USER_RE` of @suanli/executors, spelled
 * out here so the schemas (which the console imports for types) need no runtime import; a test
 * keeps the two equal.
 */
export const UNIX_USER_PATTERN = '^[a-z_][a-z0-9_-]{0,31}$';

export const TenantViewSchema = Type.Object({
  name: Type.String(),
  displayName: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type TenantView = Static<typeof TenantViewSchema>;
export const TenantListSchema = Type.Object({ tenants: Type.Array(TenantViewSchema) });
export type TenantList = Static<typeof TenantListSchema>;
export const TenantCreateSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN }),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const ProjectViewSchema = Type.Object({
  tenant: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type ProjectView = Static<typeof ProjectViewSchema>;
export const ProjectListSchema = Type.Object({ projects: Type.Array(ProjectViewSchema) });
export type ProjectList = Static<typeof ProjectListSchema>;
export const ProjectCreateSchema = Type.Object(
  { name: Type.String({ pattern: NAME_PATTERN }) },
  { additionalProperties: false },
);

export const MemberViewSchema = Type.Object({
  tenant: Type.String(),
  subject: Type.String(),
  role: RoleSchema,
  createdAt: Type.String({ format: 'date-time' }),
  unixUser: Nullable(
    Type.String({
      description: "The Unix account an operator mapped the member to; null: none (the tenant's account)",
    }),
  ),
  runsAs: Type.String({
    description:
      "The account the member's jobs run as where the executor confines jobs: unixUser, else the tenant's sl-<tenant>",
  }),
});
export type MemberView = Static<typeof MemberViewSchema>;
export const MemberListSchema = Type.Object({ members: Type.Array(MemberViewSchema) });
export type MemberList = Static<typeof MemberListSchema>;
export const MemberSetSchema = Type.Object(
  {
    role: RoleSchema,
    unixUser: Type.Optional(
      Nullable(
        Type.String({
          pattern: UNIX_USER_PATTERN,
          description:
            "Operators and admins: the existing Unix account the member's jobs run as (never root or uid 0); null: back to the tenant's account; absent: unchanged",
        }),
      ),
    ),
  },
  { additionalProperties: false },
);

export const TokenViewSchema = Type.Object({
  id: Type.String({ description: 'Public id; the token text starts with sl_<id>.' }),
  name: Type.String(),
  subject: Type.String(),
  tenant: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Nullable(Type.String({ format: 'date-time' })),
  revokedAt: Nullable(Type.String({ format: 'date-time' })),
});
export type TokenView = Static<typeof TokenViewSchema>;
export const TokenListSchema = Type.Object({ tokens: Type.Array(TokenViewSchema) });
export type TokenList = Static<typeof TokenListSchema>;
export const TokenCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    subject: Type.Optional(Type.String({ pattern: SUBJECT_PATTERN, description: 'Default: yourself' })),
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'Default: your tenant' })),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 366 * 86_400 })),
  },
  { additionalProperties: false },
);
export const TokenCreatedSchema = Type.Object({
  token: Type.String({ description: 'The secret: shown this once, never stored' }),
  info: TokenViewSchema,
});
export type TokenCreated = Static<typeof TokenCreatedSchema>;

export const AuditEntrySchema = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  subject: Nullable(Type.String()),
  tenant: Nullable(Type.String()),
  role: Nullable(Type.String()),
  method: Type.String(),
  route: Type.String(),
  target: Nullable(Type.String()),
  ip: Type.String(),
  status: Type.Integer(),
  errorCode: Nullable(Type.String()),
  requestId: Type.String(),
});
export type AuditEntryView = Static<typeof AuditEntrySchema>;
export const AuditListSchema = Type.Object({
  entries: Type.Array(AuditEntrySchema),
  nextAfter: Nullable(Type.Integer({ description: 'Pass as ?after= for the next page' })),
});
export type AuditList = Static<typeof AuditListSchema>;

export const USAGE_GROUP_VALUES = ['tenant', 'project', 'type', 'job'] as const;
export const UsageRowSchema = Type.Object({
  tenant: Nullable(Type.String()),
  project: Nullable(Type.String()),
  acceleratorType: Nullable(Type.String()),
  jobId: Nullable(Type.String()),
  attempts: Type.Integer(),
  acceleratorSeconds: Type.Number(),
  acceleratorHours: Type.Number(),
  cpuMilliSeconds: Type.Number({ description: 'CPU millicores × seconds' }),
  memoryMiBSeconds: Type.Number(),
  cpuTimeSeconds: Type.Number({
    description:
      'Measured CPU time (user + system) of the attempts, pro-rated to the window; attempts the executor could not measure add nothing',
  }),
  peakMemoryBytes: Nullable(
    Type.Integer({
      description: "The largest measured peak memory among the row's attempts; null: none measured",
    }),
  ),
});
export type UsageRow = Static<typeof UsageRowSchema>;
export const UsageReportSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  groupBy: Type.String(),
  rows: Type.Array(UsageRowSchema),
  total: UsageRowSchema,
});
export type UsageReport = Static<typeof UsageReportSchema>;

export const InvoiceLineSchema = Type.Object({
  tenant: Type.String(),
  acceleratorType: Type.String(),
  acceleratorHours: Type.Number(),
  perAcceleratorHour: Nullable(Type.Number({ description: 'null: no price set for this type' })),
  currency: Nullable(Type.String()),
  amount: Type.Number(),
  cpuTimeHours: Type.Number({
    description:
      'Measured CPU time (user + system) of these attempts in the window, for information: not priced',
  }),
});
export const InvoiceSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  lines: Type.Array(InvoiceLineSchema),
  totals: Type.Array(
    Type.Object({ tenant: Type.String(), currency: Nullable(Type.String()), amount: Type.Number() }),
  ),
  unpricedTypes: Type.Array(Type.String()),
});
export type Invoice = Static<typeof InvoiceSchema>;

export const BudgetViewSchema = Type.Object({
  tenant: Type.String(),
  project: Nullable(Type.String()),
  acceleratorHours: Type.Number({ description: 'Per UTC calendar month' }),
  usedHours: Type.Number({ description: 'Ledger this month' }),
  reservedHours: Type.Number({ description: 'Accelerators × time limit of unfinished jobs' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type BudgetView = Static<typeof BudgetViewSchema>;
export const BudgetListSchema = Type.Object({ budgets: Type.Array(BudgetViewSchema) });
export type BudgetList = Static<typeof BudgetListSchema>;
export const BudgetSetSchema = Type.Object(
  {
    tenant: Type.String({ pattern: NAME_PATTERN }),
    project: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    acceleratorHours: Type.Number({ minimum: 0, maximum: 1e9 }),
  },
  { additionalProperties: false },
);

export const PriceViewSchema = Type.Object({
  acceleratorType: Type.String(),
  perAcceleratorHour: Type.Number(),
  currency: Type.String(),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type PriceView = Static<typeof PriceViewSchema>;
export const PriceListSchema = Type.Object({ prices: Type.Array(PriceViewSchema) });
export type PriceList = Static<typeof PriceListSchema>;
export const PriceSetSchema = Type.Object(
  {
    perAcceleratorHour: Type.Number({ minimum: 0, maximum: 1e9 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217, e.g. CNY' }),
  },
  { additionalProperties: false },
);

// --- bookings (算力预约) ---

export const BOOKING_REPEAT_VALUES = ['daily', 'weekdays', 'weekly'] as const;
export const BOOKING_PHASE_VALUES = [
  'requested',
  'approved',
  'rejected',
  'cancelled',
  'active',
  'completed',
] as const;
export const BookingCreateSchema = Type.Object(
  {
    acceleratorType: Type.String({ minLength: 1, maxLength: 100, description: 'e.g. nvidia-h200' }),
    accelerators: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    start: Type.String({
      maxLength: 40,
      description: '2026-03-10T09:00 (wall clock in timeZone) or an ISO instant',
    }),
    end: Type.String({ maxLength: 40 }),
    timeZone: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'IANA name; default UTC' }),
    ),
    repeat: Type.Optional(Type.Union(BOOKING_REPEAT_VALUES.map((v) => Type.Literal(v)))),
    until: Type.Optional(
      Type.String({
        pattern: '^\\d{4}-\\d{2}-\\d{2}$',
        description: 'last start date (inclusive), in timeZone',
      }),
    ),
    project: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    nodeCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    sameSwitch: Type.Optional(Type.Boolean()),
    kind: Type.Optional(
      Type.Union([Type.Literal('booking'), Type.Literal('maintenance')], {
        description: 'maintenance: operators only',
      }),
    ),
  },
  { additionalProperties: false },
);
export type BookingCreate = Static<typeof BookingCreateSchema>;
export const OccurrenceViewSchema = Type.Object({
  start: Type.String({ format: 'date-time' }),
  end: Type.String({ format: 'date-time' }),
});
export const BookingViewSchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  project: Type.String(),
  kind: Type.Union([Type.Literal('booking'), Type.Literal('maintenance')]),
  state: Type.Union(
    BOOKING_PHASE_VALUES.map((v) => Type.Literal(v)),
    { description: 'active/completed: an approved booking inside / after its windows' },
  ),
  acceleratorType: Type.String(),
  accelerators: Type.Integer(),
  nodeCount: Nullable(Type.Integer()),
  sameSwitch: Type.Boolean(),
  start: Type.String({ description: 'wall clock as asked, in timeZone' }),
  end: Type.String(),
  timeZone: Type.String(),
  repeat: Nullable(Type.String()),
  until: Nullable(Type.String()),
  occurrences: Type.Array(OccurrenceViewSchema),
  nextOccurrence: Nullable(OccurrenceViewSchema),
  bookedAcceleratorHours: Type.Number({ description: 'accelerators × every window' }),
  reason: Nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(Type.String({ format: 'date-time' })),
});
export type BookingView = Static<typeof BookingViewSchema>;
export const BookingListSchema = Type.Object({ bookings: Type.Array(BookingViewSchema) });
export type BookingList = Static<typeof BookingListSchema>;
export const BookingDecisionSchema = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export const CapacityAnswerSchema = Type.Object({
  acceleratorType: Type.String(),
  accelerators: Type.Integer(),
  durationSeconds: Type.Integer(),
  available: Type.Boolean(),
  start: Nullable(Type.String({ format: 'date-time' })),
  end: Nullable(Type.String({ format: 'date-time' })),
  reason: Nullable(Type.String()),
});
export type CapacityAnswerView = Static<typeof CapacityAnswerSchema>;
export const BookingSettingsSetSchema = Type.Object(
  {
    requireApproval: Type.Boolean(),
    maxBookedAcceleratorHours: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1e9 }))),
    maxAcceleratorsPerBooking: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
  },
  { additionalProperties: false },
);
export const BookingSettingsViewSchema = Type.Object({
  tenant: Type.String(),
  requireApproval: Type.Boolean(),
  maxBookedAcceleratorHours: Nullable(Type.Number()),
  maxAcceleratorsPerBooking: Nullable(Type.Integer()),
  updatedAt: Nullable(Type.String({ format: 'date-time' })),
});
export type BookingSettingsView = Static<typeof BookingSettingsViewSchema>;

export const BookingUsageRowSchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  project: Type.String(),
  acceleratorType: Type.String(),
  accelerators: Type.Integer(),
  bookedAcceleratorHours: Type.Number(),
  usedAcceleratorHours: Type.Number({
    description: "the tenant's ended attempts of the type inside the windows, at most the booked count",
  }),
  idleAcceleratorHours: Type.Number(),
  chargedAcceleratorHours: Type.Number(),
});
export const BookingUsageReportSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  charge: Type.Union([Type.Literal('booked'), Type.Literal('used')]),
  bookings: Type.Array(BookingUsageRowSchema),
});
export type BookingUsageReport = Static<typeof BookingUsageReportSchema>;
