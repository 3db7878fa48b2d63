/**
 * `npm run events`: prints the lifecycle events the local stack publishes, as a subscriber sees
 * them (the demo subscription on the Pub/Sub emulator, message ordering on), one line each:
 * ce-time, ce-type, ce-subject (the request id), ce-id, then the data. Pulled messages are
 * acknowledged. `-- --once` prints what is there and exits.
 *
 *   PUBSUB_EMULATOR_HOST=127.0.0.1:<port> npm run events
 */
import { EVENTS_SUBSCRIPTION } from './lib/local-stack';
import { pubSubAdmin } from '../test/helpers/pubsub-emulator';

async function main(): Promise<void> {
  const host = process.env['PUBSUB_EMULATOR_HOST'];
  if (host === undefined || host === '') {
    throw new Error('set PUBSUB_EMULATOR_HOST to the host:port `npm start` printed');
  }
  const projectId = process.env['GOOGLE_CLOUD_PROJECT'] ?? 'dsr-local';
  const subscription = process.env['EVENTS_SUBSCRIPTION'] ?? EVENTS_SUBSCRIPTION;
  const once = process.argv.includes('--once');
  const admin = pubSubAdmin(host);
  for (;;) {
    const messages = await admin.pull(projectId, subscription);
    for (const { attributes: a, data } of messages) {
      process.stdout.write(
        `${a['ce-time']} ${a['ce-type']} ${a['ce-subject']} ${a['ce-id']} ${data}\n`,
      );
    }
    if (once) return;
    if (messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
