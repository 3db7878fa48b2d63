import type { Cost } from './model';

/**
 * A shared statement's cost split among the requests it served (a batched erasure), so that
 * each run shows its own share and the shares add up exactly to what BigQuery billed.
 *
 * The rule: every member gets the total divided by the number of members, rounded down; the
 * remainder (fewer units than members) goes one unit each to the first members in the order
 * given (callers give them sorted by request id, so the split is the same whoever computes it).
 * Bytes are split in bytes, dollars in nano-dollars (the precision costs are kept to).
 */
export function splitEvenly(total: number, members: number): number[] {
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`total must be a non-negative integer, got ${total}`);
  }
  if (!Number.isSafeInteger(members) || members < 1) {
    throw new RangeError(`members must be a positive integer, got ${members}`);
  }
  const base = Math.floor(total / members);
  const remainder = total - base * members;
  return Array.from({ length: members }, (_, i) => base + (i < remainder ? 1 : 0));
}

/** Each member's share of a cost, in the order given; bytes and nano-dollars add up exactly. */
export function shareCost(cost: Cost, members: number): Cost[] {
  const bytes = splitEvenly(cost.bytesBilled, members);
  const nanos = splitEvenly(Math.round(cost.usd * 1e9), members);
  return bytes.map((bytesBilled, i) => ({ bytesBilled, usd: (nanos[i] ?? 0) / 1e9 }));
}
