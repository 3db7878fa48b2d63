import { COMPOSITE_INDEXES } from '../../../../src/adapters/firestore/indexes';
import { indexFieldsOf, planRequestScan } from '../../../../src/adapters/firestore/request-scan';
import { scanFor } from '../../../../src/app/request-listing';
import { parseRequestFilter, REQUEST_SORTS } from '../../../../src/domain/request-filter';
import type { RequestScan } from '../../../../src/ports/request-store';

/**
 * The Firestore emulator runs any query, indexed or not; production refuses one without its
 * index. So every query a listing can send is planned here and looked up in the declared
 * indexes (which test/infra compares with Terraform).
 */

const key = (fields: readonly { fieldPath: string; order: string }[]) =>
  fields.map((f) => `${f.fieldPath} ${f.order}`).join(', ');

const declared = new Set(
  COMPOSITE_INDEXES.filter(
    (i) => i.collectionGroup === 'requests' && i.queryScope === 'COLLECTION',
  ).map((i) => key(i.fields)),
);

/** Every subset of the filters (with a value each), under each sort, for each kind of caller. */
function everyListing(): { name: string; query: Record<string, string>; ownedBy?: string }[] {
  const values: Record<string, string> = {
    type: 'deletion',
    regulation: 'gdpr',
    status: 'in_progress,completed',
    overdue: 'true',
    deadlineRisk: 'at_risk',
    filedFrom: '2026-01-01',
    filedTo: '2026-02-01',
    dueBefore: '2026-03-01',
    dryRun: 'true',
    task: 'crm',
  };
  const names = Object.keys(values);
  const out: { name: string; query: Record<string, string>; ownedBy?: string }[] = [];
  for (let mask = 0; mask < 1 << names.length; mask += 1) {
    const chosen = names.filter((_, i) => (mask & (1 << i)) !== 0);
    for (const sort of REQUEST_SORTS) {
      for (const ownedBy of [undefined, 'requester@example.com']) {
        const query: Record<string, string> = { sort };
        for (const n of chosen) query[n] = values[n]!;
        out.push({
          name: `${chosen.join('+') || 'no filter'} by ${sort}${ownedBy ? ' (own)' : ''}`,
          query,
          ...(ownedBy === undefined ? {} : { ownedBy }),
        });
      }
    }
  }
  return out;
}

describe('request listing queries and their indexes', () => {
  const listings = everyListing();

  it('plans every combination of filters, sorts and callers onto a declared index', () => {
    const unserved: string[] = [];
    for (const { name, query, ownedBy } of listings) {
      const filter = parseRequestFilter(query);
      const scan: RequestScan = {
        ...scanFor(filter, filter.sort === 'dueAt' ? 'dueAt' : 'receivedAt', ownedBy),
        limit: 10,
        after: { value: '2026-01-01T00:00:00.000Z', id: 'x' },
      };
      const fields = key(indexFieldsOf(planRequestScan(scan)));
      if (!declared.has(fields)) unserved.push(`${name}: ${fields}`);
    }
    expect(listings.length).toBe(1024 * 4);
    expect(unserved).toEqual([]);
  });

  it('puts a range only on the field the query orders by', () => {
    for (const { query, ownedBy } of listings) {
      const filter = parseRequestFilter(query);
      const plan = planRequestScan({
        ...scanFor(filter, filter.sort === 'dueAt' ? 'dueAt' : 'receivedAt', ownedBy),
        limit: 1,
      });
      if (plan.range.length > 0) {
        expect(plan.orderBy.field).toBe(filter.sort === 'dueAt' ? 'dueAt' : 'receivedAt');
      }
      // At most one `in`, and never beside an owner (a requester's statuses are in memory).
      expect(plan.filters.filter((f) => f.op === 'in').length).toBeLessThanOrEqual(1);
      if (ownedBy !== undefined) expect(plan.filters.map((f) => f.field)).not.toContain('status');
    }
  });

  it('declares no listing index that no query uses', () => {
    const used = new Set(
      listings.map(({ query, ownedBy }) => {
        const filter = parseRequestFilter(query);
        return key(
          indexFieldsOf(
            planRequestScan({
              ...scanFor(filter, filter.sort === 'dueAt' ? 'dueAt' : 'receivedAt', ownedBy),
              limit: 1,
            }),
          ),
        );
      }),
    );
    const listingIndexes = COMPOSITE_INDEXES.filter((i) =>
      i.usedBy.some((u) => u.startsWith('listRequests')),
    ).map((i) => key(i.fields));
    expect(listingIndexes.length).toBe(6);
    expect([...used].sort()).toEqual([...listingIndexes].sort());
  });

  it('reads a requester’s own by filer, and dry runs only when asked', () => {
    const own = planRequestScan({
      ...scanFor(parseRequestFilter({ status: 'denied' }), 'receivedAt', 'me@example.com'),
      limit: 1,
    });
    expect(own.filters).toEqual([
      { field: 'createdBy', op: '==', value: 'me@example.com' },
      { field: 'dryRun', op: '==', value: false },
    ]);
    const all = planRequestScan({
      ...scanFor(parseRequestFilter({ status: 'denied,cancelled' }), 'dueAt', undefined),
      limit: 1,
    });
    expect(all).toEqual({
      filters: [
        { field: 'dryRun', op: '==', value: false },
        { field: 'status', op: 'in', value: ['cancelled', 'denied'] },
      ],
      range: [],
      orderBy: { field: 'dueAt', direction: 'asc' },
    });
  });
});
