/**
 * `npm run emulator:tasks -- --port 8123 [--http-port 8124] [--queue projects/P/locations/L/queues/Q ...]
 *  [--project P --location L]`. --project/--location let --queue take a bare queue id.
 */
import { parseArgs } from 'node:util';
import { startCloudTasksEmulator } from './index';

const USAGE =
  'usage: cloud-tasks emulator --port 8123 [--http-port 8124] [--queue projects/P/locations/L/queues/Q ...] [--project P --location L]';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8123' },
      'http-port': { type: 'string' },
      queue: { type: 'string', multiple: true, default: [] },
      project: { type: 'string' },
      location: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = toPort(values.port, '--port');
  const httpPort =
    values['http-port'] === undefined
      ? port === 0
        ? 0
        : port + 1
      : toPort(values['http-port'], '--http-port');
  const queues = values.queue.map((q) => {
    if (q.includes('/')) return q;
    if (values.project === undefined || values.location === undefined) {
      throw new Error(`--queue ${q}: a bare queue id needs --project and --location`);
    }
    return `projects/${values.project}/locations/${values.location}/queues/${q}`;
  });
  const emulator = await startCloudTasksEmulator({ grpcPort: port, httpPort, queues });
  console.log(
    `cloud-tasks emulator listening on grpc 127.0.0.1:${emulator.grpcPort} http 127.0.0.1:${emulator.httpPort}`,
  );
  const shutdown = (): void => {
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function toPort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`${flag} must be a port number`);
  return port;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  console.error(USAGE);
  process.exit(2);
});
