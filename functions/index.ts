import * as functions from '@google-cloud/functions-framework';
import { api } from './api';
import { dispatch } from './dispatch';
import { runTask } from './run-task';

/** Entry points, as deployed: `api`, `runTask` and `dispatch` (Cloud Run services api, run-task, dispatch). */
export const FUNCTIONS = { api, runTask, dispatch } as const;

for (const [name, handler] of Object.entries(FUNCTIONS)) functions.http(name, handler);
