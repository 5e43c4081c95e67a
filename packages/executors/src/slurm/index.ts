export {
  SlurmExecutor,
  createSlurmExecutor,
  formatSlurmRef,
  parseSlurmRef,
  type SlurmRef,
} from './executor.js';
export {
  parseSlurmOptions,
  resolveSlurmOptions,
  SlurmOptionsError,
  SLURM_FLAGS,
  DEFAULT_BASE_ENV,
  type SlurmExecutorOptions,
  type ParsedSlurmOptions,
} from './options.js';
export {
  SlurmRestClient,
  SlurmApiError,
  SLURM_API_VERSION,
  mintSlurmJwt,
  type SlurmJob,
  type SlurmNode,
  type SlurmJobDescription,
} from './client.js';
export {
  expandHostlist,
  parseGresEntry,
  parseGresList,
  SlurmParseError,
  type GresEntry,
} from './hostlist.js';
export {
  acceleratorTypeOf,
  clusterNodeOf,
  nodeStateOf,
  jobPhaseOf,
  jobOutcomeOf,
  jobPlacementOf,
  decodeWaitStatus,
  DEFAULT_ACCELERATOR_MAPPING,
  type AcceleratorMapping,
} from './mapping.js';
export { buildSlurmJob, jobComment, parseJobComment, SlurmLaunchError } from './script.js';
