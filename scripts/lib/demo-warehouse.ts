import { createHash } from 'node:crypto';
import type { Seed } from '../../emulators/bigquery';

/**
 * The demo warehouse `npm start` seeds into the BigQuery emulator: dataset `warehouse` with
 * `events`, `entries` and `contacts`, a few thousand rows made by a seeded generator (the same
 * rows on every start), including rows of the subject in examples/*.json. Seeded rows are not
 * in the streaming buffer, so the demo deletion can change them at once.
 */

export const DEMO_DATASET = 'warehouse';

/** The subject of examples/deletion-request.json and examples/records-request.json. */
export const EXAMPLE_SUBJECT = { email: 'jane.doe@example.com', userId: 'u-4f1c9a2e' } as const;

const SIZES = { users: 240, eventsPerUser: 10, entries: 800, contacts: 500 };
const EXAMPLE_ROWS = { events: 12, entries: 4, contacts: 2 };

const EVENT_NAMES = ['page_view', 'login', 'search', 'add_to_cart', 'purchase', 'logout'];
const PAGES = ['/', '/pricing', '/docs', '/account', '/checkout', '/blog/launch'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'PL', 'SE'];
const FIRST = ['Alex', 'Sam', 'Kim', 'Noor', 'Luca', 'Mia', 'Jon', 'Ana', 'Ravi', 'Ida'];
const LAST = ['Berg', 'Costa', 'Dubois', 'Ek', 'Fischer', 'Garcia', 'Hale', 'Ito', 'Kowal'];
const T0 = Date.UTC(2024, 0, 1);

type Row = Record<string, string | number | boolean | null>;

/** The seed: pass it to `startBigQueryEmulator({ seed })`. */
export function demoWarehouseSeed(): Seed {
  const random = seededRandom('dsr-demo-warehouse');
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const at = (maxDays: number) =>
    new Date(T0 + Math.floor(random() * maxDays * 86_400) * 1000).toISOString();
  const users = Array.from({ length: SIZES.users }, (_, n) => ({
    userId: `u-${(0x10000000 + n * 7919).toString(16)}`,
    email: `user${String(n).padStart(4, '0')}@example.org`,
  }));
  const event = (userId: string): Row => ({
    user_id: userId,
    event_name: pick(EVENT_NAMES),
    ts: at(365),
    page: pick(PAGES),
    session_id: `s-${Math.floor(random() * 1e9).toString(36)}`,
  });
  const entry = (n: number, owner: { userId: string; email: string }): Row => ({
    entry_id: `e-${String(n).padStart(5, '0')}`,
    owner_id: owner.userId,
    owner_email: owner.email,
    title: `${pick(['Notes', 'Draft', 'Plan', 'Invoice', 'Recipe'])} ${n}`,
    created_at: at(365),
  });
  const contact = (email: string): Row => ({
    email,
    full_name: `${pick(FIRST)} ${pick(LAST)}`,
    country: pick(COUNTRIES),
    signed_up: at(730),
    marketing_opt_in: random() < 0.4,
  });

  const events = users.flatMap((u) =>
    Array.from({ length: SIZES.eventsPerUser }, () => event(u.userId)),
  );
  const entries = Array.from({ length: SIZES.entries }, (_, n) => entry(n, pick(users)));
  const contacts = users.map((u) => contact(u.email));
  while (contacts.length < SIZES.contacts)
    contacts.push(contact(`lead${contacts.length}@example.net`));
  // The example subject, spread through the tables rather than at the end.
  const spread = (rows: Row[], extra: Row[]) =>
    extra.forEach((row, i) =>
      rows.splice(Math.floor(((i + 1) * rows.length) / (extra.length + 1)), 0, row),
    );
  spread(
    events,
    Array.from({ length: EXAMPLE_ROWS.events }, () => event(EXAMPLE_SUBJECT.userId)),
  );
  spread(
    entries,
    Array.from({ length: EXAMPLE_ROWS.entries }, (_, i) =>
      entry(SIZES.entries + i, EXAMPLE_SUBJECT),
    ),
  );
  spread(
    contacts,
    Array.from({ length: EXAMPLE_ROWS.contacts }, () => contact(EXAMPLE_SUBJECT.email)),
  );

  return {
    datasets: [
      {
        datasetId: DEMO_DATASET,
        description: 'The demo warehouse of the local stack (generated, deterministic).',
        tables: [
          {
            tableId: 'events',
            description: 'Product analytics events, one row per event.',
            schema: [
              { name: 'user_id', type: 'STRING', mode: 'REQUIRED' },
              { name: 'event_name', type: 'STRING' },
              { name: 'ts', type: 'TIMESTAMP' },
              { name: 'page', type: 'STRING' },
              { name: 'session_id', type: 'STRING' },
            ],
            rows: events,
          },
          {
            tableId: 'entries',
            description: 'User-created entries; owner_id and owner_email are personal data.',
            schema: [
              { name: 'entry_id', type: 'STRING', mode: 'REQUIRED' },
              { name: 'owner_id', type: 'STRING' },
              { name: 'owner_email', type: 'STRING' },
              { name: 'title', type: 'STRING' },
              { name: 'created_at', type: 'TIMESTAMP' },
            ],
            rows: entries,
          },
          {
            tableId: 'contacts',
            description: 'CRM contacts (a person may have more than one).',
            schema: [
              { name: 'email', type: 'STRING', mode: 'REQUIRED' },
              { name: 'full_name', type: 'STRING' },
              { name: 'country', type: 'STRING' },
              { name: 'signed_up', type: 'TIMESTAMP' },
              { name: 'marketing_opt_in', type: 'BOOL' },
            ],
            rows: contacts,
          },
        ],
      },
    ],
  };
}

/** Numbers in [0, 1) from a hash of the seed and a counter: the same sequence on every start. */
function seededRandom(seed: string): () => number {
  let n = 0;
  return () => createHash('sha256').update(`${seed}:${n++}`).digest().readUInt32BE(0) / 2 ** 32;
}
