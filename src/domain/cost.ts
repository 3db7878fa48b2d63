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

export function addCosts(...costs: readonly Cost[]): Cost {
  return costs.reduce<Cost>(
    (sum, c) => ({ bytesBilled: sum.bytesBilled + c.bytesBilled, usd: roundUsd(sum.usd + c.usd) }),
    { bytesBilled: 0, usd: 0 },
  );
}

function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
