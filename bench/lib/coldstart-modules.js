'use strict';
/**
 * Records which client packages a function process loads, for `npm run bench -- coldstart`
 * (preloaded with `--require` in an extra, untimed start of each function). It does nothing
 * unless BENCH_COLDSTART_MODULES_FILE is set; then it appends one JSON line to that file per
 * package the first time anything requires it by name (`@google-cloud/*`, `@grpc/*`,
 * `google-gax`, `google-auth-library`, `protobufjs`), with the time since process start and the
 * requiring file, and one line when the first HTTP request arrives. Plain CommonJS, no deps.
 */
const file = process.env.BENCH_COLDSTART_MODULES_FILE;
if (file !== undefined && file !== '') install(file);

function install(out) {
  const Module = require('node:module');
  const { appendFileSync } = require('node:fs');
  const { performance } = require('node:perf_hooks');
  const http = require('node:http');
  const record = (entry) =>
    appendFileSync(out, JSON.stringify({ ...entry, ms: Math.round(performance.now()) }) + '\n');

  const watched =
    /^(@google-cloud\/[^/]+|@grpc\/[^/]+|google-gax|google-auth-library|protobufjs)(?:\/|$)/;
  const seen = new Set();
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const match = watched.exec(request);
    if (match !== null && !seen.has(match[1])) {
      seen.add(match[1]);
      record({ module: match[1], from: parent === undefined ? '' : parent.filename });
    }
    return load.call(this, request, parent, isMain);
  };

  let requested = false;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, ...args) {
    if (event === 'request' && !requested) {
      requested = true;
      record({ event: 'first_request' });
    }
    return emit.call(this, event, ...args);
  };
}
