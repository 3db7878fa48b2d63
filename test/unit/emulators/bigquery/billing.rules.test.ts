import {
  bill,
  bytesBilledLimitMessage,
  MB,
  MIN_BILLED_PER_TABLE,
} from '../../../../emulators/bigquery/billing';

describe('bill', () => {
  it('charges the 10 MB minimum for a small SELECT', () => {
    // 1,000 rows of an INT64 column: 8,000 bytes processed.
    expect(bill({ scannedBytes: 8_000n, tablesReferenced: 1 })).toEqual({
      bytesProcessed: 8_000n,
      bytesBilled: 10n * MB,
    });
  });

  it('adds the whole target table to a DML statement', () => {
    // DELETE ... WHERE user_id = @id over 100 rows: user_id STRING(10) scanned = 100 × 12;
    // table = user_id + ts TIMESTAMP = 100 × (12 + 8).
    expect(bill({ scannedBytes: 1_200n, targetTableBytes: 2_000n, tablesReferenced: 1 })).toEqual({
      bytesProcessed: 3_200n,
      bytesBilled: MIN_BILLED_PER_TABLE,
    });
  });

  it('rounds above the minimum up to the next MB (2^20 bytes)', () => {
    expect(bill({ scannedBytes: 11n * MB, tablesReferenced: 1 }).bytesBilled).toBe(11n * MB);
    expect(bill({ scannedBytes: 11n * MB + 1n, tablesReferenced: 1 }).bytesBilled).toBe(12n * MB);
    expect(bill({ scannedBytes: 10n * MB + 1n, tablesReferenced: 1 }).bytesBilled).toBe(11n * MB);
  });

  it('applies the minimum per referenced table', () => {
    expect(bill({ scannedBytes: 15n * MB, tablesReferenced: 2 }).bytesBilled).toBe(20n * MB);
  });

  it('bills nothing when nothing is processed', () => {
    expect(bill({ scannedBytes: 0n, tablesReferenced: 1 })).toEqual({
      bytesProcessed: 0n,
      bytesBilled: 0n,
    });
  });

  it('words the cap error as the service does', () => {
    expect(bytesBilledLimitMessage(1_000n, 10n * MB)).toBe(
      'Query exceeded limit for bytes billed: 1000. 10485760 or higher required.',
    );
  });
});
