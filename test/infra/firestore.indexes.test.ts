import { COMPOSITE_INDEXES, FIELD_OVERRIDES } from '../../src/adapters/firestore/indexes';
import { BATCHES } from '../../src/adapters/firestore/batch-store';
import { TTL_FIELD } from '../../src/adapters/firestore/codec';
import { OUTBOX_COLLECTION } from '../../src/adapters/firestore/event-outbox';
import { RECORDS_COLLECTION } from '../../src/adapters/firestore/firestore-record-store';
import { COLLECTIONS } from '../../src/adapters/firestore/firestore-store';
import { evaluate, loadModule, resource, resourcesOf, type TfModule } from './support/terraform';

interface TfIndex {
  collection: string;
  query_scope: string;
  fields: { field_path: string; order: string }[];
}
interface TfField {
  collection: string;
  field: string;
  indexes: { order: string; query_scope: string }[];
}

const key = (collection: string, scope: string, fields: { path: string; order: string }[]) =>
  `${collection}/${scope}: ${fields.map((f) => `${f.path} ${f.order}`).join(', ')}`;

describe('Firestore in Terraform matches src/adapters/firestore/indexes.ts', () => {
  let root: TfModule;

  beforeAll(async () => {
    root = await loadModule();
  });

  it('declares exactly the composite indexes the store needs', () => {
    const declared = Object.values(
      evaluate('${local.firestore_indexes}', { mod: root, vars: {} }) as Record<string, TfIndex>,
    ).map((i) =>
      key(
        i.collection,
        i.query_scope,
        i.fields.map((f) => ({ path: f.field_path, order: f.order })),
      ),
    );
    const needed = COMPOSITE_INDEXES.map((i) =>
      key(
        i.collectionGroup,
        i.queryScope,
        i.fields.map((f) => ({ path: f.fieldPath, order: f.order })),
      ),
    );
    expect(declared.sort()).toEqual(needed.sort());
    expect(resource(root, 'google_firestore_index', 'composite')['for_each']).toBe(
      '${local.firestore_indexes}',
    );
  });

  it('declares exactly the collection-group single-field indexes the store needs', () => {
    const fields = Object.values(
      evaluate('${local.firestore_field_indexes}', { mod: root, vars: {} }) as Record<
        string,
        TfField
      >,
    );
    const declared = fields.flatMap((f) =>
      f.indexes
        .filter((i) => i.query_scope === 'COLLECTION_GROUP')
        .map((i) => `${f.collection}.${f.field} ${i.order}`),
    );
    expect(declared.sort()).toEqual(
      FIELD_OVERRIDES.map((o) => `${o.collectionGroup}.${o.fieldPath} ${o.order}`).sort(),
    );
    // Declaring a field replaces its automatic indexes: keep the collection-scope one too.
    for (const f of fields) {
      expect(f.indexes).toContainEqual({ order: 'ASCENDING', query_scope: 'COLLECTION' });
    }
    expect(resource(root, 'google_firestore_field', 'collection_group')['for_each']).toBe(
      '${local.firestore_field_indexes}',
    );
  });

  it('uses the collections the store writes, and sets a TTL policy on each level of a request', () => {
    const collections = new Set<string>([...Object.values(COLLECTIONS), BATCHES]);
    const declared = Object.values(
      evaluate('${local.firestore_indexes}', { mod: root, vars: {} }) as Record<string, TfIndex>,
    );
    for (const i of declared) expect(collections).toContain(i.collection);
    const ttl = resourcesOf(root, 'google_firestore_field').find(([name]) => name === 'ttl')?.[1];
    expect(ttl?.['ttl_config']).toEqual([{}]);
    expect(ttl?.['for_each']).toBe('${toset(local.ttl_collections)}');
    const ttlCollections = evaluate('${local.ttl_collections}', { mod: root, vars: {} });
    expect(ttlCollections).toEqual([
      COLLECTIONS.requests,
      COLLECTIONS.instances,
      COLLECTIONS.runs,
      RECORDS_COLLECTION,
      // A minimised request's ledger entries carry the TTL field too.
      COLLECTIONS.ledger,
      // A published lifecycle event is kept PUBLISHED_RETENTION_DAYS.
      OUTBOX_COLLECTION,
    ]);
    // The field the policies watch is the one the store writes.
    expect(ttl?.['field']).toBe('${var.firestore_ttl_field}');
    expect(evaluate('${var.firestore_ttl_field}', { mod: root, vars: {} })).toBe(TTL_FIELD);
  });

  it("exempts a records package chunk's data from indexing, so a 512 KiB value is never indexed", () => {
    const exemptions = Object.values(
      evaluate('${local.firestore_index_exemptions}', { mod: root, vars: {} }) as Record<
        string,
        { collection: string; field: string }
      >,
    );
    expect(exemptions).toContainEqual({ collection: RECORDS_COLLECTION, field: 'data' });
    const exemption = resource(root, 'google_firestore_field', 'index_exemption');
    expect(exemption['for_each']).toBe('${local.firestore_index_exemptions}');
    // An empty index_config removes every automatic index of the field; no TTL here.
    expect(exemption['index_config']).toEqual([{}]);
    expect(exemption['ttl_config']).toBeUndefined();
  });

  it('uses the (default) database, which the code opens', () => {
    expect(resource(root, 'google_firestore_database', 'main')['name']).toBe('(default)');
  });
});
