'use strict';
/**
 * The cold-start benchmark's baseline (`npm run bench -- coldstart`): a hello-world HTTP function,
 * served exactly as the deployed entry is (the functions-framework CLI, plain Node, CommonJS).
 */
const functions = require('@google-cloud/functions-framework');

functions.http('hello', (_req, res) => {
  res.status(200).send('hello');
});
