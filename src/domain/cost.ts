import type { Cost } from './model';

export const BYTES_PER_TIB = 2 ** 40;
export const DEFAULT_PRICE_PER_TIB_USD = 6.25;

/** BigQuery on-demand cost: `usd = bytesBilled / 2^40 × pricePerTiB`, kept to 1e-9 USD. */
export function bigQueryCost(bytesBilled: number, pricePerTiB = DEFAULT_PRICE_PER_TIB_USD): Cost {
  if (!Number.isFinite(bytesBilled) || bytesBilled < 0) {
    throw new RangeError(`bytesBilled must be a non-negative number, got ${bytesBilled}`);
  }
  return { bytesBilled, usd: roundUsd((bytesBilled / BYTES_PER_TIB) * pricePerTiB) };
}

export const BYTES_PER_MIB = 2 ** 20;
/** BigQuery bills at least this much for every table a query references. */
export const MIN_BILLED_BYTES_PER_TABLE = 10 * BYTES_PER_MIB;

/**
 * Bytes BigQuery will bill for a query that processes `bytesProcessed` (a dry run reports only
 * that): rounded up to the MiB, at least 10 MiB per referenced table; nothing processed bills 0.
 */
export function estimateBytesBilled(bytesProcessed: number, tablesReferenced = 1): number {
  if (!Number.isFinite(bytesProcessed) || bytesProcessed < 0) {
    throw new RangeError(`bytesProcessed must be a non-negative number, got ${bytesProcessed}`);
  }
  if (bytesProcessed === 0) return 0;
  const rounded = Math.ceil(bytesProcessed / BYTES_PER_MIB) * BYTES_PER_MIB;
  return Math.max(rounded, MIN_BILLED_BYTES_PER_TABLE * Math.max(1, tablesReferenced));
}

export function addCosts(...costs: readonly Cost[]): Cost {
  return costs.reduce<Cost>(
    (sum, c) => ({ bytesBilled: sum.bytesBilled + c.bytesBilled, usd: roundUsd(sum.usd + c.usd) }),
    { bytesBilled: 0, usd: 0 },
  );
}

function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
