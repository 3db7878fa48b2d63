import { createHash } from 'node:crypto';
import type { Seed } from '../../emulators/bigquery';

/**
 * The demo warehouse `npm start` seeds into the BigQuery emulator, in the shapes personal data
 * takes in real warehouses, a few thousand rows made by a seeded generator (the same rows on
 * every start), including rows of the subject in examples/*.json:
 * - `warehouse.events` and `warehouse.entries`: flat tables keyed by user id;
 * - `warehouse.contacts`: emails as people typed them (mixed case, stray spaces);
 * - `warehouse.ad_audiences`: only `TO_HEX(SHA256(LOWER(TRIM(email))))`, as ad platforms take it;
 * - `warehouse.sessions`: partitioned by day, with require_partition_filter;
 * - `analytics_demo.events_YYYYMMDD`: a GA4-style date-sharded export, the email inside the
 *   repeated `user_properties` STRUCTs.
 * Seeded rows are not in the streaming buffer, so the demo deletion can change them at once.
 */

export const DEMO_DATASET = 'warehouse';
export const GA4_DATASET = 'analytics_demo';
/** The GA4 export's days: one `events_YYYYMMDD` shard each. */
export const GA4_DAYS = ['20240101', '20240102', '20240103', '20240104', '20240105'];

/** The subject of examples/deletion-request.json and examples/records-request.json. */
export const EXAMPLE_SUBJECT = { email: 'jane.doe@example.com', userId: 'u-4f1c9a2e' } as const;

const SIZES = { users: 240, eventsPerUser: 10, entries: 800, contacts: 500, gaEventsPerDay: 60 };
const EXAMPLE_ROWS = { events: 12, entries: 4, contacts: 2, sessions: 3, gaEventsPerDay: 2 };
/** How the example subject's email arrives in the CRM: as typed, never normalised. */
const TYPED_EMAILS = ['Jane.Doe@Example.com', ' jane.doe@example.com '];

const EVENT_NAMES = ['page_view', 'login', 'search', 'add_to_cart', 'purchase', 'logout'];
const PAGES = ['/', '/pricing', '/docs', '/account', '/checkout', '/blog/launch'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'PL', 'SE'];
const FIRST = ['Alex', 'Sam', 'Kim', 'Noor', 'Luca', 'Mia', 'Jon', 'Ana', 'Ravi', 'Ida'];
const LAST = ['Berg', 'Costa', 'Dubois', 'Ek', 'Fischer', 'Garcia', 'Hale', 'Ito', 'Kowal'];
const T0 = Date.UTC(2024, 0, 1);

type Row = Record<string, unknown>;

/** As ad platforms take an email: `TO_HEX(SHA256(LOWER(TRIM(email))))`. */
export function hashedEmail(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

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
    TYPED_EMAILS.slice(0, EXAMPLE_ROWS.contacts).map((email) => contact(email)),
  );

  const audience = (email: string): Row => ({
    hashed_email: hashedEmail(email),
    audience: pick(['newsletter', 'lookalike', 'retargeting', 'churn-risk']),
    added_at: at(365),
  });
  const audiences = users.filter(() => random() < 0.5).map((u) => audience(u.email));
  spread(audiences, [audience(EXAMPLE_SUBJECT.email)]);

  const day = (maxDays: number) => at(maxDays).slice(0, 10);
  const session = (userId: string): Row => ({
    day: day(365),
    user_id: userId,
    device: pick(['ios', 'android', 'web']),
    duration_s: Math.floor(random() * 3600),
  });
  const sessions = users.flatMap((u) => [session(u.userId), session(u.userId)]);
  spread(
    sessions,
    Array.from({ length: EXAMPLE_ROWS.sessions }, () => session(EXAMPLE_SUBJECT.userId)),
  );

  const gaEvent = (date: string, user: { userId: string; email: string }, email: string): Row => ({
    event_date: date,
    event_timestamp:
      Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6))) *
        1000 +
      Math.floor(random() * 86_400e6),
    event_name: pick(EVENT_NAMES),
    user_id: user.userId,
    user_pseudo_id: `${Math.floor(random() * 1e10)}.${1700000000 + Math.floor(random() * 1e6)}`,
    user_properties: [
      { key: 'email', value: { string_value: email } },
      { key: 'plan', value: { string_value: pick(['free', 'pro', 'team']) } },
      { key: 'visits', value: { int_value: Math.floor(random() * 100) } },
    ],
  });
  const ga4 = GA4_DAYS.map((date) => {
    const rows = Array.from({ length: SIZES.gaEventsPerDay }, () => {
      const user = pick(users);
      return gaEvent(date, user, user.email);
    });
    spread(
      rows,
      Array.from({ length: EXAMPLE_ROWS.gaEventsPerDay }, (_, i) =>
        gaEvent(date, EXAMPLE_SUBJECT, TYPED_EMAILS[i % TYPED_EMAILS.length] as string),
      ),
    );
    return { tableId: `events_${date}`, schema: GA4_SCHEMA, rows };
  });

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
          {
            tableId: 'ad_audiences',
            description: 'Ad audiences: the email only as TO_HEX(SHA256(LOWER(TRIM(email)))).',
            schema: [
              { name: 'hashed_email', type: 'STRING', mode: 'REQUIRED' },
              { name: 'audience', type: 'STRING' },
              { name: 'added_at', type: 'TIMESTAMP' },
            ],
            rows: audiences,
          },
          {
            tableId: 'sessions',
            description: 'App sessions, partitioned by day; queries must filter on day.',
            timePartitioning: { type: 'DAY', field: 'day' },
            requirePartitionFilter: true,
            schema: [
              { name: 'day', type: 'DATE', mode: 'REQUIRED' },
              { name: 'user_id', type: 'STRING', mode: 'REQUIRED' },
              { name: 'device', type: 'STRING' },
              { name: 'duration_s', type: 'INT64' },
            ],
            rows: sessions,
          },
        ],
      },
      {
        datasetId: GA4_DATASET,
        description: 'A GA4-style BigQuery export: one events_YYYYMMDD table per day.',
        tables: ga4,
      },
    ],
  };
}

/** The GA4 export's event schema, cut down to what identifies a person. */
export const GA4_SCHEMA = [
  { name: 'event_date', type: 'STRING' },
  { name: 'event_timestamp', type: 'INT64' },
  { name: 'event_name', type: 'STRING' },
  { name: 'user_id', type: 'STRING' },
  { name: 'user_pseudo_id', type: 'STRING' },
  {
    name: 'user_properties',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'key', type: 'STRING' },
      {
        name: 'value',
        type: 'RECORD',
        fields: [
          { name: 'string_value', type: 'STRING' },
          { name: 'int_value', type: 'INT64' },
        ],
      },
    ],
  },
];

/** Numbers in [0, 1) from a hash of the seed and a counter: the same sequence on every start. */
function seededRandom(seed: string): () => number {
  let n = 0;
  return () => createHash('sha256').update(`${seed}:${n++}`).digest().readUInt32BE(0) / 2 ** 32;
}
