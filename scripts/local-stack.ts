/**
 * `npm start`: the whole pipeline on this machine, and stops every child on Ctrl-C.
 *
 * Ports (each a number 0-65535; 0 picks a free one):
 * - `PORT`: the api, where requests are filed and the console is served (default 8080);
 * - `RUN_TASK_PORT`: run-task, which Cloud Tasks (our emulator) calls (default: a free one);
 * - `DISPATCH_PORT`: dispatch, which the stand-in for Cloud Scheduler calls (default: a free one).
 * `DISPATCH_INTERVAL_MS`: how often dispatch is called (default 5000).
 * A busy port prints one line naming it and the variable to set, and exits 1.
 */
import { PORT_VARIABLES, PortInUseError, startLocalStack } from './lib/local-stack';

/** The README's default target of `dsr` (DSR_API), which this stack serves on the default PORT. */
const DEFAULT_PORT = 8080;

class UsageError extends Error {}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(`${name}=${text} is not a port: use a number from 0 to 65535`);
  }
  return port;
}

async function main(): Promise<void> {
  const apiPort = portFrom(process.env, PORT_VARIABLES.api, DEFAULT_PORT);
  const runTaskPort = portFrom(process.env, PORT_VARIABLES.runTask, 0);
  const dispatchPort = portFrom(process.env, PORT_VARIABLES.dispatch, 0);
  const dispatchIntervalMs = portFrom(process.env, 'DISPATCH_INTERVAL_MS', 5000);
  const stack = await startLocalStack({
    apiPort,
    runTaskPort,
    dispatchPort,
    dispatchIntervalMs,
    onLogLine: (line) => process.stdout.write(`${line}\n`),
    events: true,
  });
  const stop = () => {
    process.stdout.write('\nstopping the local stack...\n');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const api = stack.apiUrl;
  const defaultTarget = api === `http://127.0.0.1:${DEFAULT_PORT}`;
  process.stdout.write(
    [
      `dsr-taskrunner local stack ready: api ${api}`,
      '',
      `  api       ${api}        (PORT)`,
      `  console   ${api}/console`,
      `  run-task  ${stack.runTaskUrl}        (RUN_TASK_PORT; called by the Cloud Tasks emulator)`,
      `  dispatch  ${stack.dispatchUrl}        (DISPATCH_PORT; called every ${dispatchIntervalMs} ms in place of Cloud Scheduler)`,
      '',
      defaultTarget
        ? `The command line targets this api by default: npx dsr --help`
        : `The command line targets DSR_API; in another terminal: export DSR_API=${api}   then: npx dsr --help`,
      '',
      'Who you are: the header X-Dev-Identity names the caller (local mode only); without it you',
      'are developer@localhost, who holds every role. approver@localhost approves, auditor@localhost',
      'audits; any other identity holds no role. Nobody approves a request they filed.',
      '',
      'Next steps (README.md, "First minutes"):',
      '  npx dsr requests file examples/deletion-request.json       # file the example deletion',
      '  npx dsr requests list --sort dueAt                         # the requests, soonest deadline first',
      `  ${api}/console in a browser                 # the console`,
      '  npx dsr requests file examples/retry-request.json          # a task that fails until retried',
      '',
      'The API with curl:',
      `  curl -s -X POST ${api}/requests -H 'content-type: application/json' -d @examples/deletion-request.json`,
      `  curl -s ${api}/requests/<id>                    # status, instances, cost`,
      `  curl -s -X POST ${api}/requests/<id>/approve -H 'x-dev-identity: approver@localhost'   # approve ga-user-deletion`,
      `  curl -s ${api}/requests/<id>/evidence           # the hash-chained audit trail, verified`,
      `  curl -s ${api}/tasks                            # the task registry`,
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
  if (err instanceof PortInUseError || err instanceof UsageError) {
    process.stderr.write(`npm start: ${err.message}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
  console.error(err);
  process.exit(1);
});
