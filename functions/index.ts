import { installFrameworkGuards } from './framework-guards';
import * as functions from '@google-cloud/functions-framework';
import { api } from './api';
import { dispatch } from './dispatch';
import { runTask } from './run-task';

// Before the framework builds its app: body limits, strict UTF-8 and JSON-only errors.
installFrameworkGuards();

/** Entry points, as deployed: `api`, `runTask` and `dispatch` (Cloud Run services api, run-task, dispatch). */
export const FUNCTIONS = { api, runTask, dispatch } as const;

for (const [name, handler] of Object.entries(FUNCTIONS)) functions.http(name, handler);
