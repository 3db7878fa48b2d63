import { installFrameworkGuards } from './framework-guards';
import * as functions from '@google-cloud/functions-framework';
import { lazyHandler } from './lazy';

// Before the framework builds its app: body limits, strict UTF-8 and JSON-only errors.
installFrameworkGuards();

/**
 * Entry points, as deployed: `api`, `runTask` and `dispatch` (Cloud Run services api, run-task,
 * dispatch). Each deployed service loads this one file and serves one of them: each function's
 * module (and the clients it needs) is loaded on its first request, so an instance loads only
 * the function it serves (bench/README.md, "Cold start").
 */
export const FUNCTIONS = {
  api: lazyHandler(async () => (await import('./api')).api),
  runTask: lazyHandler(async () => (await import('./run-task')).runTask),
  dispatch: lazyHandler(async () => (await import('./dispatch')).dispatch),
} as const;

for (const [name, handler] of Object.entries(FUNCTIONS)) functions.http(name, handler);
