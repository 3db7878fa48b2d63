import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Cold starts (bench/README.md, "Cold start"): importing the deployed entry loads no client
 * package, and building the runtime loads Firestore only. The Cloud Tasks, BigQuery and Pub/Sub
 * clients wait for the first call that needs them. A fresh process, so nothing is cached.
 */
const ROOT = join(__dirname, '../../..');

function probe(): Record<string, string[]> {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href,
      join(__dirname, 'cold-imports.probe.ts'),
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        PATH: process.env['PATH'] ?? '',
        GOOGLE_CLOUD_PROJECT: 'cold-imports',
        RUN_TASK_URL: 'http://127.0.0.1:1/',
        TASKS_INVOKER_SA: 'tasks-invoker@cold-imports.iam.gserviceaccount.com',
        SUBJECT_HASH_PEPPER: 'cold-imports-pepper-0123456789',
        LOCAL_MODE: 'true',
        FIRESTORE_EMULATOR_HOST: '127.0.0.1:1',
        CLOUD_TASKS_EMULATOR_HOST: '127.0.0.1:1',
        BIGQUERY_EMULATOR_HOST: 'http://127.0.0.1:1',
        PUBSUB_EMULATOR_HOST: '127.0.0.1:1',
        METADATA_SERVER_DETECTION: 'none',
      },
    },
  );
  if (run.status !== 0) throw new Error(`the probe failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, string[]>;
}

describe('what a function instance loads', () => {
  it('loads no client at import, and only Firestore when the runtime is built', () => {
    const steps = probe();
    expect(steps['index']).toEqual([]);
    expect(steps['runtime']).toEqual(['@google-cloud/firestore', 'jose']);
  });
});
