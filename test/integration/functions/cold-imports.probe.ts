/**
 * Run in a fresh process by cold-imports.test.ts: imports the deployed entry, then builds the
 * runtime, and prints which client packages were loaded after each step (one JSON line).
 */
const CLIENTS = [
  '@google-cloud/firestore',
  '@google-cloud/tasks',
  '@google-cloud/bigquery',
  '@google-cloud/pubsub',
  'jose',
] as const;

function loaded(): string[] {
  const files = Object.keys(require.cache);
  return CLIENTS.filter((name) => files.some((f) => f.includes(`/node_modules/${name}/`)));
}

async function main(): Promise<void> {
  const steps: Record<string, string[]> = {};
  await import('../../../functions/index');
  steps['index'] = loaded();
  const { getRuntime } = await import('../../../functions/composition');
  getRuntime();
  steps['runtime'] = loaded();
  process.stdout.write(`${JSON.stringify(steps)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
