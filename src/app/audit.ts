import { z } from 'zod';
import { coerceError, RetryableError, ValidationError } from '../domain/errors';
import { subjectSchema, type Cost, type RunEvidence } from '../domain/model';
import { identifierOf, redactionSubject, subjectHash } from '../domain/subject';
import { auditEstimateOf, type AuditEstimate } from '../executors/contract';
import type { Actor } from './actor';
import { normaliseSubject } from './intake';
import type { AppDeps } from './deps';
import { getTask } from './tasks';

const auditBodySchema = z.object({ subject: subjectSchema }).strict();

/** The job labels and logs of an audit name this in place of a request id. */
export const AUDIT_REQUEST_ID = 'audit';

/** What `POST /tasks/:id/audit` answers. */
export interface AuditView {
  taskId: string;
  executor: string;
  dryRun: true;
  /** The executor's own account of what it would do. */
  message: string;
  /**
   * Rows the real run would affect (from a COUNT query) and its estimated bill, for executors
   * that can tell (the BigQuery ones); null for those that cannot, whose `output` says what
   * they would call instead.
   */
  estimate: AuditEstimate | null;
  output?: unknown;
  /** What the audit itself cost: the BigQuery COUNT query is a real, billed query. */
  cost: Cost;
  evidence: Pick<RunEvidence, 'touched' | 'jobIds'>;
  durationMs: number;
}

/**
 * Runs a task's executor in audit mode against a subject: nothing is changed, and no request,
 * instance or run is written. The executor gets `dryRun: true`, as in a dry-run request.
 */
export async function auditTask(
  deps: AppDeps,
  taskId: string,
  body: unknown,
  actor: Actor,
): Promise<AuditView> {
  const parsed = auditBodySchema.safeParse(body ?? {});
  if (!parsed.success) throw ValidationError.fromZod(parsed.error.issues);
  // Normalised as intake normalises, so the audit finds what a real request would.
  const { subject, asGiven } = normaliseSubject(parsed.data.subject);
  const task = await getTask(deps, taskId);
  const missing = task.requiredIdentifiers.filter((k) => identifierOf(subject, k) === undefined);
  if (missing.length > 0) {
    throw new ValidationError(
      `Invalid input: subject: task ${taskId} needs ${missing.join(', ')}`,
      missing.map((k) => ({
        path: `subject.${k}`,
        message: `task ${taskId} needs this identifier`,
      })),
    );
  }
  const executor = deps.executors.get(task.executor);
  const config = deps.executors.parseConfig(task.executor, task.config);
  const log = deps.log.child({ labels: { taskId }, redact: redactionSubject(subject, asGiven) });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), task.timeoutSeconds * 1000);
  const started = deps.clock.now();
  let result;
  try {
    result = await executor.run({
      subject,
      subjectAsGiven: { ...subject, ...asGiven },
      config,
      signal: controller.signal,
      requestId: AUDIT_REQUEST_ID,
      taskId,
      attempt: 1,
      dryRun: true,
      log,
    });
  } catch (thrown) {
    if (!controller.signal.aborted) throw coerceError(thrown);
    throw new RetryableError(
      `the audit did not finish within the task timeout of ${task.timeoutSeconds} s`,
      { code: 'timed_out', cause: thrown },
    );
  } finally {
    clearTimeout(timer);
  }
  const durationMs = deps.clock.now().getTime() - started.getTime();
  const estimate = auditEstimateOf(result.output) ?? null;
  // Not the executor's message: what an executor reports is not vouched free of the subject.
  const hash = subjectHash(subject, deps.settings.subjectHashPepper);
  // Asking whether an identifier has rows is itself a read of personal data: recorded.
  await deps.store.appendLedger(
    { kind: 'task', taskId },
    {
      kind: 'audit_run',
      actor: actor.identity,
      at: started.toISOString(),
      // What the audit billed: GET /costs counts audits from here (they write no run).
      details: {
        subjectHash: hash,
        taskVersion: task.version,
        costUsd: result.cost.usd,
        bytesBilled: result.cost.bytesBilled,
      },
    },
  );
  log.info('task.audited', `task ${taskId} audited (dry run; nothing changed)`, {
    executor: task.executor,
    actor: actor.identity,
    taskVersion: task.version,
    subjectHash: hash,
    durationMs,
    bytesBilled: result.cost.bytesBilled,
    costUsd: result.cost.usd,
    ...(estimate === null
      ? {}
      : {
          wouldAffectRows: estimate.wouldAffectRows,
          estimatedBytesBilled: estimate.estimatedBytesBilled,
        }),
  });
  return {
    taskId,
    executor: task.executor,
    dryRun: true,
    message: result.message,
    estimate,
    ...(estimate === null && result.output !== undefined ? { output: result.output } : {}),
    cost: result.cost,
    evidence: result.evidence ?? {},
    durationMs,
  };
}
