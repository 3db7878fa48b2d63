/**
 * `npm start`: the whole pipeline on this machine. Files requests at http://127.0.0.1:8080
 * (PORT overrides), runs dispatch every few seconds, and stops every child on Ctrl-C.
 */
import { startLocalStack } from './lib/local-stack';

async function main(): Promise<void> {
  const apiPort = Number(process.env['PORT'] ?? 8080);
  const stack = await startLocalStack({
    apiPort,
    dispatchIntervalMs: Number(process.env['DISPATCH_INTERVAL_MS'] ?? 5000),
    onLogLine: (line) => process.stdout.write(`${line}\n`),
    events: true,
  });
  const stop = () => {
    process.stdout.write('\nstopping the local stack...\n');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.write(
    [
      `dsr-taskrunner local stack ready: api ${stack.apiUrl}`,
      '',
      'Who you are: the header X-Dev-Identity names the caller (local mode only); without it you',
      'are developer@localhost, who holds every role. approver@localhost approves, auditor@localhost',
      'audits; any other identity holds no role. Nobody approves a request they filed.',
      '',
      'Next steps:',
      `  curl -s -X POST ${stack.apiUrl}/requests -H 'content-type: application/json' -d @examples/deletion-request.json`,
      `  curl -s ${stack.apiUrl}/requests/<id>                    # status, instances, cost`,
      `  curl -s -X POST ${stack.apiUrl}/requests/<id>/approve -H 'x-dev-identity: approver@localhost'   # approve ga-user-deletion`,
      `  curl -s ${stack.apiUrl}/requests/<id>/evidence           # the hash-chained audit trail, verified`,
      `  curl -s ${stack.apiUrl}/iam/policy                       # who holds which role`,
      `  curl -s ${stack.apiUrl}/requests/<id>/runs               # every run record`,
      `  curl -s ${stack.apiUrl}/tasks                            # the task registry`,
      `  curl -s -X POST ${stack.apiUrl}/requests -H 'content-type: application/json' -d @examples/records-request.json`,
      `  curl -s ${stack.apiUrl}/requests/<id>/records            # the records package`,
      `  curl -s -X POST ${stack.apiUrl}/tasks/warehouse-events-delete/audit -H 'content-type: application/json' -d '{"subject":{"userId":"u-4f1c9a2e"}}'`,
      '',
      `Firestore emulator ${stack.firestoreHost}; Cloud Tasks emulator grpc 127.0.0.1:${stack.tasksEmulator.grpcPort} http 127.0.0.1:${stack.tasksEmulator.httpPort}`,
      `Lifecycle events (CloudEvents on the Pub/Sub emulator ${stack.events?.host}, topic ${stack.events?.topic}); in another terminal:`,
      `  PUBSUB_EMULATOR_HOST=${stack.events?.host} npm run events   # follows subscription ${stack.events?.subscription}`,
      `BigQuery emulator ${stack.bigQueryEmulator.url} (project ${stack.projectId}; warehouse: events, entries, contacts, ad_audiences, sessions; analytics_demo: events_YYYYMMDD)`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
