/**
 * Serves one registered function through the real functions-framework pipeline, for the local
 * stack and the e2e tests: `tsx functions/serve.ts <target> <port>`.
 */
import { getTestServer } from '@google-cloud/functions-framework/testing';
import './index';

const [target, portText] = process.argv.slice(2);
if (target === undefined || portText === undefined) {
  console.error('usage: serve.ts <api|runTask|dispatch> <port>');
  process.exit(2);
}
const server = getTestServer(target);
server.listen(Number(portText), '127.0.0.1', () => {
  process.stderr.write(`function ${target} listening on http://127.0.0.1:${portText}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
