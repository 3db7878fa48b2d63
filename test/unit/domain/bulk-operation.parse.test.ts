import {
  addOutcome,
  emptyProgress,
  MAX_KEPT_FAILURES,
  newOperation,
  operationView,
  outcomeOfError,
  pageDone,
  parseBulkRequest,
  parseOperationId,
} from '../../../src/domain/bulk-operation';
import { ConflictError, ForbiddenError, ValidationError } from '../../../src/domain/errors';

const AT = '2030-01-01T00:00:00.000Z';

function issuesOf(body: unknown): string[] {
  try {
    parseBulkRequest(body);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => i.path);
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('parseBulkRequest', () => {
  it('takes a filter, an action and a reason', () => {
    const bulk = parseBulkRequest({
      filter: { status: 'awaiting_approval', task: 'crm' },
      action: 'approve',
      reason: ' CAB-7 ',
    });
    expect(bulk).toMatchObject({
      action: 'approve',
      reason: 'CAB-7',
      filter: { status: ['awaiting_approval'], task: 'crm', dryRun: false },
    });
  });

  it.each<[string, unknown, string[]]>([
    ['no body', undefined, ['action', 'reason', 'filter']],
    ['an unknown action', { filter: { task: 'a' }, action: 'purge', reason: 'x' }, ['action']],
    ['a blank reason', { filter: { task: 'a' }, action: 'cancel', reason: ' ' }, ['reason']],
    ['an empty filter', { filter: {}, action: 'cancel', reason: 'x' }, ['filter']],
    ['only dryRun', { filter: { dryRun: true }, action: 'cancel', reason: 'x' }, ['filter']],
    ['a filter that is a string', { filter: 'all', action: 'cancel', reason: 'x' }, ['filter']],
    [
      'a bad status',
      { filter: { status: 'nope' }, action: 'cancel', reason: 'x' },
      ['filter.status'],
    ],
  ])('refuses %s, naming the fields', (_name, body, fields) => {
    expect(issuesOf(body).sort()).toEqual([...fields].sort());
  });

  it('parses operation ids by pattern before they reach a path', () => {
    expect(parseOperationId(`op-${'a'.repeat(32)}`)).toBe(`op-${'a'.repeat(32)}`);
    for (const bad of ['op-../x', `op-${'A'.repeat(32)}`, '', 'op-1']) {
      expect(() => parseOperationId(bad)).toThrow(ValidationError);
    }
  });
});

describe('progress', () => {
  const bulk = parseBulkRequest({ filter: { task: 'crm' }, action: 'cancel', reason: 'x' });

  it('counts a harmless refusal as skipped and a real one as failed', () => {
    expect(outcomeOfError('r1', new ConflictError('dup', 'already_approved'))).toEqual({
      outcome: 'skipped',
      why: 'already_approved',
    });
    expect(outcomeOfError('r1', new ForbiddenError('own', 'self_approval'), 't1')).toEqual({
      outcome: 'failed',
      failures: [{ requestId: 'r1', taskId: 't1', code: 'self_approval', message: 'own' }],
    });
  });

  it('adds pages up, keeps at most MAX_KEPT_FAILURES and says how many were left out', () => {
    let op = newOperation(`op-${'b'.repeat(32)}`, bulk, 'op@example.com', AT);
    const failing = Array.from({ length: 150 }, (_, i) =>
      outcomeOfError(`r${i}`, new Error('boom')),
    );
    const progress = [{ outcome: 'succeeded' as const }, ...failing].reduce(
      addOutcome,
      emptyProgress(),
    );
    op = { ...op, ...pageDone(op, progress, 'cursor-1', AT) };
    expect(op).toMatchObject({ state: 'running', cursor: 'cursor-1', matched: 151, failed: 150 });
    op = { ...op, ...pageDone(op, emptyProgress(), undefined, AT) };
    const view = operationView(op);
    expect(view).toMatchObject({
      state: 'done',
      finishedAt: AT,
      progress: { matched: 151, processed: 151, succeeded: 1, failed: 150, pages: 2 },
      failuresOmitted: 150 - MAX_KEPT_FAILURES,
    });
    expect(view.failures).toHaveLength(MAX_KEPT_FAILURES);
    expect(view.failures[0]).toMatchObject({ requestId: 'r0', code: 'internal' });
  });
});
