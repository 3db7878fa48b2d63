/**
 * On-demand billing, following BigQuery's published rules. Pure, so the rules are unit-tested
 * on worked examples.
 */

/** 1 MB as BigQuery bills it: 2^20 bytes. */
export const MB = 1n << 20n;

/** The minimum billed for each table a query references. */
export const MIN_BILLED_PER_TABLE = 10n * MB;

export interface BillingInput {
  /** Sizes of the referenced columns of the tables read (see values.columnSizeSql). */
  scannedBytes: bigint;
  /** For UPDATE and DELETE: the whole target table's size when the statement starts. */
  targetTableBytes?: bigint;
  tablesReferenced: number;
}

export interface Billing {
  bytesProcessed: bigint;
  bytesBilled: bigint;
}

/**
 * Bytes processed are the scanned column sizes, plus the target table for DML. Bytes billed
 * round processed up to the next MB, with at least 10 MB per referenced table; a statement
 * that processes no bytes at all (COUNT(*) without WHERE, an empty table) is not billed.
 */
export function bill({
  scannedBytes,
  targetTableBytes = 0n,
  tablesReferenced,
}: BillingInput): Billing {
  const bytesProcessed = scannedBytes + targetTableBytes;
  if (bytesProcessed === 0n) return { bytesProcessed, bytesBilled: 0n };
  const rounded = ((bytesProcessed + MB - 1n) / MB) * MB;
  const minimum = MIN_BILLED_PER_TABLE * BigInt(tablesReferenced);
  return { bytesProcessed, bytesBilled: rounded > minimum ? rounded : minimum };
}

/** The service's message when `maximumBytesBilled` is below what the query needs. */
export function bytesBilledLimitMessage(limit: bigint, required: bigint): string {
  return `Query exceeded limit for bytes billed: ${limit}. ${required} or higher required.`;
}
