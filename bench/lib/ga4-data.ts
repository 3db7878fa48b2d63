/**
 * The rows of `npm run bench -- bigquery`: GA4-style events in the demo warehouse's shape
 * (scripts/lib/demo-warehouse.ts), made by row number so the bench process and the emulator
 * process agree on them without passing any: every user has `rows / users` events spread
 * through the table, the email inside `user_properties` (as typed on one row in ten: mixed case,
 * stray spaces), and each row has 2 or 3 properties.
 */

export interface BenchData {
  rows: number;
  users: number;
  projectId: string;
  datasetId: string;
  tableId: string;
}

const EVENT_NAMES = ['page_view', 'login', 'search', 'add_to_cart', 'purchase', 'logout'];
const PLANS = ['free', 'pro', 'team'];
const SPREAD = 7919;
const T0 = Date.UTC(2024, 0, 1);

export function benchData(rows: number): BenchData {
  let users = Math.max(1, Math.ceil(rows / 10));
  // Row i belongs to user (i * SPREAD) mod users: each user's rows spread through the table.
  if (users % SPREAD === 0) users++;
  return { rows, users, projectId: 'bench', datasetId: 'analytics_bench', tableId: 'events' };
}

export function emailOf(user: number): string {
  return `user${String(user).padStart(6, '0')}@example.org`;
}

export function userIdOf(user: number): string {
  return `u-${(0x10000000 + user).toString(16)}`;
}

/** The k-th subject a statement is about: distinct users for distinct k (below `users`). */
export function subjectOf(data: BenchData, k: number): number {
  return (k * 104_729 + 17) % data.users;
}

/** Row `i` as insertAll JSON. */
export function ga4Row(data: BenchData, i: number): Record<string, unknown> {
  const user = (i * SPREAD) % data.users;
  const day = i % 31;
  const email = emailOf(user);
  const typed =
    hash(i, 1) % 10 === 0
      ? ` ${email.replace('user', 'User').replace('example', 'Example')} `
      : email;
  const properties: unknown[] = [
    { key: 'email', value: { string_value: typed } },
    { key: 'plan', value: { string_value: PLANS[hash(i, 2) % PLANS.length] } },
  ];
  if (hash(i, 3) % 2 === 0)
    properties.push({ key: 'visits', value: { int_value: hash(i, 4) % 100 } });
  return {
    event_date: new Date(T0 + day * 86_400_000).toISOString().slice(0, 10).replace(/-/g, ''),
    event_timestamp: (T0 + day * 86_400_000) * 1000 + (hash(i, 5) % 86_400_000) * 1000,
    event_name: EVENT_NAMES[hash(i, 6) % EVENT_NAMES.length],
    user_id: userIdOf(user),
    user_pseudo_id: `${hash(i, 7)}.${1_700_000_000 + user}`,
    user_properties: properties,
  };
}

/** A 32-bit hash of (n, salt), the same on every run. */
function hash(n: number, salt: number): number {
  let h = Math.imul(n ^ Math.imul(salt, 0x9e3779b9), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
