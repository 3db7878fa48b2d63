'use strict';
/**
 * Records the CPU time a process spent up to its first answer, for `npm run bench -- coldstart`
 * (preloaded with `--require` in every timed start, the hello-world function's included). It
 * does nothing unless BENCH_COLDSTART_CPU_FILE is set; then, when the first HTTP response has
 * been sent, it writes `{"cpuMs": user + system}` to that file. CPU time is the figure a busy
 * machine disturbs least: waiting for a core does not count. Plain CommonJS, no deps.
 */
const file = process.env.BENCH_COLDSTART_CPU_FILE;
if (file !== undefined && file !== '') install(file);

function install(out) {
  const http = require('node:http');
  const { writeFileSync } = require('node:fs');
  let seen = false;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, req, res) {
    if (event === 'request' && !seen) {
      seen = true;
      res.once('finish', () => {
        const { user, system } = process.cpuUsage();
        writeFileSync(out, JSON.stringify({ cpuMs: (user + system) / 1000 }));
      });
    }
    return emit.apply(this, arguments);
  };
}
