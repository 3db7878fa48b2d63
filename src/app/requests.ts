/**
 * The request use cases, split by verb: intake (file), views (show, list, runs), approvals
 * (approve), denials (deny), verification (verify) and operations (cancel, retry). This module
 * gathers them for callers.
 */
export type { Actor } from './actor';
export { fileRequest, normaliseSubject, type FileRequestResult } from './intake';
export { listRequests, type RequestRow } from './request-listing';
export {
  getRequestView,
  listRuns,
  requestView,
  type DryRunEstimate,
  type InstanceView,
  type RequestView,
} from './request-views';
export { approveRequest } from './approvals';
export { denyRequest } from './denials';
export { verifyRequest } from './verification';
export { cancelRequest, retryInstance } from './operations';
export { requireRequest, tasksById } from './lookups';
