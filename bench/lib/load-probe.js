'use strict';
/**
 * What `npm run bench -- load` needs to know from inside each function process, once a second:
 * - its CPU time (user + system) and event-loop utilisation (the share of the second the loop
 *   was busy: 1.0 is a saturated Node process, whatever the machine's other cores do);
 * - its event-loop delay (p99 and max over the second, from `monitorEventLoopDelay`);
 * - Firestore commits that failed, by gRPC code, where every call of the official client leaves
 *   it (its GAPIC client's `commit`): FAILED_PRECONDITION (9) is a guarded write that lost a
 *   race (src/adapters/firestore/guarded-write.ts reads again and retries or declines), ABORTED
 *   (10) a transaction that lost one (the client runs it again), ALREADY_EXISTS (6) a repeated
 *   create. Every other failure is counted under its code too.
 *
 * Preloaded into the local stack's function processes (NODE_OPTIONS `--require`) beside
 * firestore-op-probe.js. It does nothing unless BENCH_LOAD_PROBE_DIR is set; then it appends one
 * JSON line a second to `$BENCH_LOAD_PROBE_DIR/<K_SERVICE>-<pid>.jsonl`. Counters are cumulative
 * since the process started; the bench takes differences between two lines. Plain CommonJS, so it
 * loads before tsx's loader does; it starts nothing and forks nothing.
 */
const dir = process.env.BENCH_LOAD_PROBE_DIR;
// NODE_OPTIONS preloads run in worker threads too (tsx's loader hooks run in one): only the main
// thread serves requests, and two writers would interleave lines in the same file.
if (dir !== undefined && dir !== '' && require('node:worker_threads').isMainThread) install(dir);

function install(outDir) {
  const { appendFileSync } = require('node:fs');
  const { join } = require('node:path');
  const { monitorEventLoopDelay, performance } = require('node:perf_hooks');

  const service = process.env.K_SERVICE || 'process';
  const file = join(outDir, `${service}-${process.pid}.jsonl`);
  const commitErrors = {};
  let commits = 0;
  try {
    const { dirname } = require('node:path');
    const root = dirname(require.resolve('@google-cloud/firestore'));
    const { FirestoreClient } = require(join(root, 'v1', 'firestore_client.js'));
    const original = FirestoreClient.prototype.commit;
    FirestoreClient.prototype.commit = function (request, optionsOrCallback, callback) {
      const result = original.call(this, request, optionsOrCallback, callback);
      if (result && typeof result.then === 'function') {
        result.then(
          () => {
            commits += 1;
          },
          (error) => {
            const code = String(error && error.code !== undefined ? error.code : 'unknown');
            commitErrors[code] = (commitErrors[code] || 0) + 1;
          },
        );
      }
      return result;
    };
  } catch {
    // No Firestore client in this process: the loop and CPU figures still count.
  }

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let lastElu = performance.eventLoopUtilization();
  const tick = () => {
    const elu = performance.eventLoopUtilization(lastElu);
    lastElu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const line = {
      t: Date.now(),
      service,
      pid: process.pid,
      cpuMs: (cpu.user + cpu.system) / 1000,
      elu: Math.round(elu.utilization * 1000) / 1000,
      lagP99Ms: Math.round(delay.percentile(99) / 1e4) / 100,
      lagMaxMs: Math.round(delay.max / 1e4) / 100,
      commits,
      commitErrors,
    };
    delay.reset();
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // The directory is gone: the bench has finished with this process.
    }
  };
  setInterval(tick, 1000).unref();
}
