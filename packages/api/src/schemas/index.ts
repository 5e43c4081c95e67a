/**
 * Wire schemas of the public API (TypeBox → JSON Schema → OpenAPI). The typed client imports
 * these types (type-only), so the CLI, the console and the server agree on every shape.
 * This module imports nothing but TypeBox, so it is cheap to depend on.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const JOB_STATE_VALUES = [
  'queued',
  'starting',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed-out',
  'preempted',
  'lost',
  'requeued',
] as const;
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

/**
 * The job spec as users write it. Documentation only: the server validates specs with the core's
 * `compileJobSpec`, which gives one message per field that says what to fix.
 */
export const JobSpecInputSchema = Type.Object(
  {
    name: Type.String({ description: 'Short name: letters, digits, ".", "_", "-"', maxLength: 63 }),
    project: Type.Optional(Type.String({ description: 'Project to charge (default "default")' })),
    command: Type.Array(Type.String(), { minItems: 1, description: 'Program and arguments' }),
    workingDir: Type.Optional(Type.String({ description: 'Absolute path' })),
    env: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'May not set SUANLI_* or device pinning' }),
    ),
    resources: Type.Object({
      accelerators: Type.Integer({ minimum: 0, description: 'Per replica' }),
      acceleratorType: Type.Optional(
        Type.Union([Type.String(), Type.Array(Type.String())], {
          description: 'A type or a list of acceptable types',
        }),
      ),
      cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Cores per replica' })),
      memory: Type.Optional(
        Type.Union([Type.String(), Type.Number()], { description: '"16Gi", "512Mi" or MiB' }),
      ),
    }),
    replicas: Type.Optional(Type.Integer({ minimum: 1, description: 'Gang size (all-or-nothing)' })),
    timeLimit: Type.Optional(
      Type.Union([Type.String(), Type.Integer()], { description: '"2h", "30m", or seconds' }),
    ),
    priority: Type.Optional(
      Type.Union([Type.String(), Type.Integer()], { description: 'Class name or number' }),
    ),
    retry: Type.Optional(
      Type.Object({
        maxAttempts: Type.Optional(Type.Integer({ minimum: 1 })),
        retryOn: Type.Optional(
          Type.Array(Type.Union([Type.Literal('lost'), Type.Literal('failed'), Type.Literal('timed-out')])),
        ),
        backoff: Type.Optional(Type.Union([Type.String(), Type.Integer()])),
      }),
    ),
    preemptible: Type.Optional(Type.Boolean()),
    checkpointInterval: Type.Optional(Type.Union([Type.String(), Type.Integer()])),
  },
  { $id: 'JobSpecInput', additionalProperties: false },
);

export const ReplicaPlacementSchema = Type.Object({
  node: Type.String(),
  acceleratorIds: Type.Array(Type.String()),
  cpuMillis: Type.Number(),
  memoryMiB: Type.Number(),
});

export const TransitionSchema = Type.Object({
  from: Nullable(JobStateSchema),
  to: JobStateSchema,
  at: Type.String({ format: 'date-time' }),
  reason: Type.String(),
  attempt: Type.Integer(),
});
export type TransitionView = Static<typeof TransitionSchema>;

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
      }),
    ),
    cancelRequested: Type.Boolean(),
    transitions: Type.Optional(Type.Array(TransitionSchema)),
  },
  { $id: 'JobView' },
);
export type JobView = Static<typeof JobViewSchema>;

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobViewSchema),
  nextBefore: Nullable(Type.Integer({ description: 'Pass as ?before= to get the next (older) page' })),
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
  },
  { $id: 'NodeView' },
);
export type NodeView = Static<typeof NodeViewSchema>;
export const NodeListSchema = Type.Object({ nodes: Type.Array(NodeViewSchema) });
export type NodeList = Static<typeof NodeListSchema>;

export const WhoAmISchema = Type.Object({
  subject: Type.String(),
  role: Type.String(),
  tenant: Type.String(),
});
export type WhoAmI = Static<typeof WhoAmISchema>;

export const HealthSchema = Type.Object({
  status: Type.Literal('ok'),
  version: Type.String(),
  store: Type.String(),
  executor: Type.String(),
});
export type Health = Static<typeof HealthSchema>;
