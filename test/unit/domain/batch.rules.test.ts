import {
  batchSlot,
  billedOf,
  decideFlushClaim,
  memberKey,
  memberPollAfterSeconds,
  MEMBER_SAFETY_POLL_SECONDS,
  shapeKeyOf,
  type Batch,
} from '../../../src/domain/batch';

const NOW = new Date('2030-03-01T12:00:30.000Z');

function aBatch(patch: Partial<Batch> = {}): Batch {
  return {
    id: 'b-0123456789abcdef0123-1898596800-1',
    shapeKey: '0123456789abcdef0123',
    taskId: 't',
    executor: 'bigquery.delete',
    state: 'open',
    openedAt: '2030-03-01T12:00:00.000Z',
    closesAt: '2030-03-01T12:01:00.000Z',
    maxSubjects: 10,
    dueAt: '2030-03-01T12:01:00.000Z',
    attempt: 0,
    maxAttempts: 3,
    jobs: [],
    ...patch,
  };
}

describe('batch slots', () => {
  it('puts joiners of one wait period in the same batch, numbered as full ones close', () => {
    const settings = { maxSubjects: 10, maxWaitSeconds: 60 };
    const a = batchSlot('k', settings, new Date('2030-03-01T12:00:01Z'), 1);
    const b = batchSlot('k', settings, new Date('2030-03-01T12:00:59Z'), 1);
    expect(a.id).toBe(b.id);
    expect(a.closesAt.toISOString()).toBe('2030-03-01T12:01:00.000Z');
    expect(batchSlot('k', settings, new Date('2030-03-01T12:01:00Z'), 1).id).not.toBe(a.id);
    expect(batchSlot('k', settings, new Date('2030-03-01T12:00:01Z'), 2).id).toBe(
      a.id.replace(/-1$/, '-2'),
    );
  });

  it('closes a no-wait batch within the second', () => {
    const slot = batchSlot('k', { maxSubjects: 1, maxWaitSeconds: 0 }, NOW, 1);
    expect(slot.closesAt.getTime() - NOW.getTime()).toBeLessThanOrEqual(1000);
  });

  it('keys a shape by task and statement, and members by request and task', () => {
    expect(shapeKeyOf('a', 'x')).toMatch(/^[0-9a-f]{20}$/);
    expect(shapeKeyOf('a', 'x')).not.toBe(shapeKeyOf('b', 'x'));
    expect(shapeKeyOf('a', 'x')).not.toBe(shapeKeyOf('a', 'y'));
    expect(memberKey('r1', 't1')).toBe('r1:t1');
  });
});

describe('flush claims', () => {
  it('refuses an open batch before its wait is over, and a finished one', () => {
    expect(decideFlushClaim(aBatch(), NOW, 60)).toEqual({
      refuse: 'not_due',
      dueAt: new Date('2030-03-01T12:01:00.000Z'),
    });
    expect(decideFlushClaim(aBatch({ state: 'flushed' }), NOW, 60)).toEqual({ refuse: 'finished' });
    expect(decideFlushClaim(aBatch({ state: 'failed' }), NOW, 60)).toEqual({ refuse: 'finished' });
  });

  it('claims a closed batch with a lease, counting the attempt', () => {
    const decision = decideFlushClaim(aBatch({ state: 'closed' }), NOW, 60);
    expect(decision).toEqual({
      claim: {
        state: 'flushing',
        attempt: 1,
        leaseExpiresAt: '2030-03-01T12:01:30.000Z',
        dueAt: '2030-03-01T12:01:30.000Z',
        closedAt: NOW.toISOString(),
        flushStartedAt: NOW.toISOString(),
      },
    });
  });

  it('leaves a flush alone while its lease holds, takes it over once it expired, and fails the batch past its attempts', () => {
    const flushing = { state: 'flushing' as const, attempt: 1, closedAt: 'x', flushStartedAt: 'y' };
    expect(
      decideFlushClaim(
        aBatch({ ...flushing, leaseExpiresAt: '2030-03-01T12:00:31.000Z' }),
        NOW,
        60,
      ),
    ).toEqual({ refuse: 'leased' });
    const expired = { ...flushing, leaseExpiresAt: '2030-03-01T12:00:29.000Z' };
    expect(decideFlushClaim(aBatch(expired), NOW, 60)).toMatchObject({
      claim: { state: 'flushing', attempt: 2 },
    });
    expect(decideFlushClaim(aBatch({ ...expired, attempt: 3 }), NOW, 60)).toMatchObject({
      abandon: { state: 'failed', error: { code: 'abandoned' } },
    });
  });

  it('adds up what a batch’s jobs billed, and the verification part of it', () => {
    expect(
      billedOf([
        { jobId: 'a', bytesBilled: 10, role: 'count' },
        { jobId: 'b', bytesBilled: 30, role: 'change' },
        { jobId: 'c', bytesBilled: 5, role: 'verify' },
      ]),
    ).toEqual({ total: 45, verify: 5 });
  });
});

describe('when a waiting member looks at its batch again', () => {
  it('an open batch: just after it closes, never sooner than the poll interval', () => {
    expect(memberPollAfterSeconds(aBatch(), NOW, 2)).toBe(32);
    expect(memberPollAfterSeconds(aBatch(), NOW, 60)).toBe(60);
  });

  it('a closed batch waiting for a retry: just after the retry is due', () => {
    const batch = aBatch({ state: 'closed', dueAt: '2030-03-01T12:05:30.000Z' });
    expect(memberPollAfterSeconds(batch, NOW, 2)).toBe(302);
  });

  it("a flushing batch: at the flush's lease end (the flush nudges it sooner), at most the safety interval", () => {
    const soon = aBatch({ state: 'flushing', leaseExpiresAt: '2030-03-01T12:02:30.000Z' });
    expect(memberPollAfterSeconds(soon, NOW, 2)).toBe(122);
    const late = aBatch({ state: 'flushing', leaseExpiresAt: '2030-03-01T13:00:30.000Z' });
    expect(memberPollAfterSeconds(late, NOW, 2)).toBe(MEMBER_SAFETY_POLL_SECONDS);
    const expired = aBatch({ state: 'flushing', leaseExpiresAt: '2030-03-01T12:00:00.000Z' });
    expect(memberPollAfterSeconds(expired, NOW, 5)).toBe(5);
  });

  it('a member that filled its batch: the safety interval, as the flush starts now and nudges it', () => {
    expect(memberPollAfterSeconds(aBatch({ state: 'closed' }), NOW, 2, true)).toBe(
      MEMBER_SAFETY_POLL_SECONDS,
    );
  });
});
