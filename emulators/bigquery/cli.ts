import { parseArgs } from 'node:util';
import { startBigQueryEmulator } from './index';

const USAGE =
  'usage: emulator:bigquery --port 9050 [--project P] [--seed file.json] ' +
  '[--streaming-buffer-seconds 1800] [--min-job-ms 0]';

function number(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value))
    throw new Error(`--${name} must be a non-negative integer, got "${raw}"\n${USAGE}`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '9050' },
      project: { type: 'string' },
      seed: { type: 'string' },
      'streaming-buffer-seconds': { type: 'string' },
      'min-job-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const emulator = await startBigQueryEmulator({
    port: number('port', values.port, 9050),
    streamingBufferSeconds: number(
      'streaming-buffer-seconds',
      values['streaming-buffer-seconds'],
      1800,
    ),
    minJobMs: number('min-job-ms', values['min-job-ms'], 0),
    ...(values.project === undefined ? {} : { projectId: values.project }),
    ...(values.seed === undefined ? {} : { seed: values.seed }),
  });
  console.log(`bigquery emulator listening on ${emulator.url}`);
  const shutdown = (): void => {
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
