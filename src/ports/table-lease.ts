/**
 * One mutating statement per table at a time, across the whole pipeline: BigQuery runs at most
 * 2 mutating DML statements per table and queues 20, failing the next. A statement that changes
 * a table holds its lease for as long as it runs; another that finds it held waits and is polled
 * again, rather than piling onto BigQuery's queue. A lease expires, so a holder that dies
 * (a killed run) does not block the table for good.
 */
export interface TableLeases {
  /**
   * Takes (or, for the same holder, extends) the lease on `table` for `ttlSeconds`. False when
   * another holder has a lease that has not expired.
   */
  acquire(table: string, holder: string, ttlSeconds: number): Promise<boolean>;
  /** Gives the lease back, if `holder` has it; otherwise does nothing. */
  release(table: string, holder: string): Promise<void>;
}
