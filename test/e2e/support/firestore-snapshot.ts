import {
  DocumentReference,
  GeoPoint,
  Timestamp,
  type CollectionReference,
  type Firestore,
} from '@google-cloud/firestore';

/** Every document of a Firestore project: its full path → its data as canonical JSON. */
export type FirestoreSnapshot = ReadonlyMap<string, string>;

/**
 * Lists every document in the project, recursively (collections, then each document's
 * subcollections, including documents that exist only as parents of subcollections), with the
 * real client against the emulator. Keys are sorted, so equal data gives equal strings.
 */
export async function snapshotFirestore(db: Firestore): Promise<FirestoreSnapshot> {
  const out = new Map<string, string>();
  await Promise.all((await db.listCollections()).map((c) => walkCollection(c, out)));
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function walkCollection(
  collection: CollectionReference,
  out: Map<string, string>,
): Promise<void> {
  const refs = await collection.listDocuments();
  if (refs.length === 0) return;
  const [docs, subcollections] = await Promise.all([
    collection.firestore.getAll(...refs),
    Promise.all(refs.map((r) => r.listCollections())),
  ]);
  for (const doc of docs) {
    // A missing document that only parents subcollections is listed but holds no data.
    out.set(doc.ref.path, doc.exists ? canonicalJson(doc.data()) : '(no document)');
  }
  await Promise.all(subcollections.flat().map((c) => walkCollection(c, out)));
}

/** Stable JSON of Firestore data: keys sorted, timestamps, references and bytes spelled out. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(value: unknown): unknown {
  if (value instanceof Timestamp) return { $timestamp: value.toDate().toISOString() };
  if (value instanceof DocumentReference) return { $ref: value.path };
  if (value instanceof GeoPoint) return { $geo: [value.latitude, value.longitude] };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { $bytes: Buffer.from(value).toString('base64') };
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return Object.fromEntries(entries.map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

/** What changed between two snapshots, for assertions and failure messages. */
export interface SnapshotDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export function diffSnapshots(before: FirestoreSnapshot, after: FirestoreSnapshot): SnapshotDiff {
  const added = [...after.keys()].filter((k) => !before.has(k));
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k));
  return { added, removed, changed };
}

export function isEmptyDiff(diff: SnapshotDiff): boolean {
  return diff.added.length + diff.removed.length + diff.changed.length === 0;
}
