import { createFirestoreTableLeases } from '../../../src/adapters/firestore/table-leases';
import type { TableLeases } from '../../../src/ports/table-lease';
import { useStore } from './fixture';

const f = useStore();
const clock = { time: Date.parse('2026-03-01T09:00:00Z') };
let leases: TableLeases;

beforeAll(() => {
  leases = createFirestoreTableLeases(f.fs.db, { now: () => new Date(clock.time) });
});

const TABLE = 'acme-prod.warehouse.events';

describe('table leases on Firestore', () => {
  it('lets one holder change a table at a time, the same holder extend it, and the release free it', async () => {
    expect(await leases.acquire(TABLE, 'req-a/task', 60)).toBe(true);
    expect(await leases.acquire(TABLE, 'req-b/task', 60)).toBe(false);
    expect(await leases.acquire('acme-prod.warehouse.other', 'req-b/task', 60)).toBe(true);
    clock.time += 50_000;
    expect(await leases.acquire(TABLE, 'req-a/task', 60)).toBe(true); // extended to +110 s
    clock.time += 30_000;
    expect(await leases.acquire(TABLE, 'req-b/task', 60)).toBe(false);
    await leases.release(TABLE, 'req-b/task'); // not its lease: nothing happens
    expect(await leases.acquire(TABLE, 'req-b/task', 60)).toBe(false);
    await leases.release(TABLE, 'req-a/task');
    expect(await leases.acquire(TABLE, 'req-b/task', 60)).toBe(true);
  });

  it('frees the table once a lease expires (a killed run)', async () => {
    expect(await leases.acquire(TABLE, 'req-a/task', 60)).toBe(true);
    clock.time += 60_001;
    expect(await leases.acquire(TABLE, 'req-b/task', 60)).toBe(true);
  });

  it('gives the lease to exactly one of many holders at once', async () => {
    const taken = await Promise.all(
      Array.from({ length: 12 }, (_, i) => leases.acquire('acme-prod.d.race', `req-${i}/task`, 60)),
    );
    expect(taken.filter(Boolean)).toHaveLength(1);
  });
});
