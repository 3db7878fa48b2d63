import { createFirestoreStore } from '../../../src/adapters/firestore/firestore-store';
import { countStates, rollupStatus } from '../../../src/domain/states';
import { aRequestWithInstances, aRun, at, claimIfQueued, useStore } from './fixture';

const INSTANCES = 50;
const FAILING = new Set(['t07', 't33']);

/**
 * No hot document (one Firestore document sustains about one write a second): runs never write
 * the request. Each finisher writes only its own instance and run; the one that sees no open
 * instance left rolls the request up from the instances. Here all 50 instances of one request
 * finish at once.
 */
describe('Firestore store: 50 instances of one request finishing concurrently', () => {
  const f = useStore();

  it('ends with the right request status; no transaction on the request retries more than once', async () => {
    const { request, instances } = aRequestWithInstances('r-burst', INSTANCES);
    await f.store.createRequest(request, instances);
    f.store.resetStats();
    // A store of its own for the roll-up, so its counters are the request document's alone.
    const rollups = createFirestoreStore(f.fs.db);
    let rolledUpBy = 0;
    /** How many times each roll-up's update function ran: 1 means it never had to retry. */
    const runsPerRollup: number[] = [];

    const finished = await Promise.all(
      instances.map(async ({ taskId }) => {
        const outcome = await f.store.claimInstance('r-burst', taskId, claimIfQueued);
        if (!outcome.claimed) throw new Error(`${taskId} not claimed: ${outcome.reason}`);
        const { claim } = outcome;
        const state = FAILING.has(taskId) ? 'failed' : 'succeeded';
        const run = aRun(claim.instance, `s1-a001-${taskId}`, {
          status: state === 'failed' ? 'failed' : 'succeeded',
        });
        const { applied } = await f.store.finishAttempt(claim, run, { state, updatedAt: at(2) });

        // The last one rolls up: only a finisher that sees nothing open touches the request.
        if ((await f.store.countOpenInstances('r-burst')) === 0) {
          const mine = rolledUpBy++;
          runsPerRollup[mine] = 0;
          const now = await f.store.listInstances('r-burst');
          const status = rollupStatus(now.map((i) => i.state));
          await rollups.updateRequest('r-burst', (current) => {
            runsPerRollup[mine]! += 1;
            return current.status === status
              ? null
              : { status, counts: countStates(now), updatedAt: at(3), completedAt: at(3) };
          });
        }
        return applied;
      }),
    );

    const stored = await f.store.getRequest('r-burst');
    const retries = rollups.stats().transactionRetries;
    console.log(
      `50 concurrent finishes: ${rolledUpBy} finisher(s) saw no open instance and rolled up; ` +
        `request-document retries ${retries} in total, at most ${Math.max(...runsPerRollup) - 1} per roll-up; ` +
        `request-document writes ${rollups.stats().writes}; ` +
        `instance-document retries ${f.store.stats().transactionRetries}`,
    );
    expect(finished.every(Boolean)).toBe(true);
    expect(stored).toMatchObject({
      status: 'completed_with_errors',
      counts: { succeeded: INSTANCES - FAILING.size, failed: FAILING.size },
      completedAt: at(3),
    });
    expect(await f.store.listRuns('r-burst')).toHaveLength(INSTANCES);
    // Exactly one roll-up writes the request. Every other one that read it before that write
    // runs once more, sees the status already right, and declines: no transaction is retried
    // more than once, and the winner never is.
    expect(rolledUpBy).toBeGreaterThanOrEqual(1);
    expect(rollups.stats().writes).toBe(1);
    expect(Math.max(...runsPerRollup)).toBeLessThanOrEqual(2);
    expect(retries).toBe(runsPerRollup.reduce((sum, runs) => sum + runs - 1, 0));
    expect(retries).toBeLessThan(rolledUpBy);
    // No finisher ever contends on its own instance.
    expect(f.store.stats().transactionRetries).toBe(0);
  });
});
