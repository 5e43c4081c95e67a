/**
 * Placement: free capacity, best-fit topology-aware gang placement, and the availability profile
 * that answers one placement question in three modes (run-now, test-only, will-run). The `suanli`
 * policy and the simulator's baselines build on this API; keep it stable.
 */
export type { NodeCapacity, ClusterCapacity, NodeView } from './capacity.js';
export {
  buildCapacity,
  FreeState,
  freeStateView,
  placeGangOnView,
  typesThatCouldEverFit,
  candidateTypes,
  placementType,
  placementAccelerators,
  deviceTypeOn,
} from './capacity.js';
export type {
  ProfileHold,
  PlacementRequest,
  PlacementMode,
  PlacementAnswer,
  ProfileBounds,
} from './profile.js';
export { AvailabilityProfile, DEFAULT_PROFILE_BOUNDS, compareHolds } from './profile.js';
