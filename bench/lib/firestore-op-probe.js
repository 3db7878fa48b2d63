'use strict';
/**
 * Firestore operations of a whole process, counted where every call of the official client
 * leaves it (its GAPIC client's commit, batchWrite, batchGetDocuments, runQuery and
 * runAggregationQuery), by the billing rules of src/adapters/firestore/op-counter.ts:
 * - a document lookup is 1 read, found or missing;
 * - a query is 1 read per document returned, and at least 1;
 * - an aggregation is 1 read per 1000 index entries counted, and at least 1;
 * - each write of a committed batch or transaction is 1 write; a commit that fails writes
 *   nothing (an ABORTED one is counted apart, as a transaction conflict).
 *
 * `npm run bench -- erasure` preloads it into the local stack's function processes (NODE_OPTIONS
 * `--require`), so the store adapter, the batch store and the table leases are all counted,
 * which the adapter's own counter (the store only, in-process) cannot do across processes. It
 * does nothing unless BENCH_FIRESTORE_OPS_DIR is set; then it writes its totals to
 * `$BENCH_FIRESTORE_OPS_DIR/<K_SERVICE>-<pid>.json` a few times a second while they change.
 * Plain CommonJS, so it loads before tsx's loader does; it starts nothing and forks nothing.
 */
const dir = process.env.BENCH_FIRESTORE_OPS_DIR;
// NODE_OPTIONS preloads run in worker threads too (tsx's loader hooks run in one), whose zero
// totals would overwrite the main thread's file: count in the main thread only.
if (dir !== undefined && dir !== '' && require('node:worker_threads').isMainThread) install(dir);

function install(outDir) {
  const { renameSync, writeFileSync } = require('node:fs');
  const { dirname, join } = require('node:path');
  const root = dirname(require.resolve('@google-cloud/firestore'));
  const { FirestoreClient } = require(join(root, 'v1', 'firestore_client.js'));

  const service = process.env.K_SERVICE || 'process';
  const totals = { service, pid: process.pid, reads: 0, writes: 0, aborted: 0, calls: {} };
  const file = join(outDir, `${service}-${process.pid}.json`);
  let dirty = true;
  const save = () => {
    if (!dirty) return;
    dirty = false;
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(totals));
      renameSync(`${file}.tmp`, file);
    } catch {
      // The directory is gone: the bench has finished with this process.
    }
  };
  setInterval(save, 200).unref();
  process.on('exit', save);
  const add = (method, reads, writes) => {
    totals.reads += reads;
    totals.writes += writes;
    totals.calls[method] = (totals.calls[method] || 0) + 1;
    dirty = true;
  };

  const toNumber = (value) => {
    if (value === null || value === undefined) return 0;
    if (typeof value === 'object' && typeof value.toNumber === 'function') return value.toNumber();
    const n = Number(value);
    return Number.isFinite(n) ? n : 0;
  };

  for (const method of ['commit', 'batchWrite']) {
    const original = FirestoreClient.prototype[method];
    FirestoreClient.prototype[method] = function (request, optionsOrCallback, callback) {
      const writes = Array.isArray(request && request.writes) ? request.writes.length : 0;
      const result = original.call(this, request, optionsOrCallback, callback);
      if (result && typeof result.then === 'function') {
        result.then(
          () => add(method, 0, writes),
          (error) => {
            if (error && error.code === 10) {
              totals.aborted += 1;
              dirty = true;
            }
          },
        );
      }
      return result;
    };
  }

  const streams = {
    batchGetDocuments: (chunk) => (chunk && (chunk.found || chunk.missing) ? 1 : 0),
    runQuery: (chunk) => (chunk && chunk.document ? 1 : 0),
    runAggregationQuery: (chunk) => {
      const fields = chunk && chunk.result && chunk.result.aggregateFields;
      if (!fields) return 0;
      const entries = Object.values(fields).reduce(
        (max, value) => Math.max(max, toNumber(value && value.integerValue)),
        0,
      );
      return Math.max(1, Math.ceil(entries / 1000));
    },
  };
  for (const [method, readsOf] of Object.entries(streams)) {
    const original = FirestoreClient.prototype[method];
    FirestoreClient.prototype[method] = function (request, options) {
      const stream = original.call(this, request, options);
      let reads = 0;
      let ended = false;
      // The client pipes this stream (it flows anyway): one more listener only watches.
      stream.on('data', (chunk) => {
        reads += readsOf(chunk);
      });
      const end = () => {
        if (ended) return;
        ended = true;
        // A query or aggregation that returned nothing is still billed one read.
        add(method, method === 'batchGetDocuments' ? reads : Math.max(1, reads), 0);
      };
      stream.on('end', end);
      stream.on('error', end);
      return stream;
    };
  }
}
