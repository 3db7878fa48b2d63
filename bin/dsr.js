#!/usr/bin/env node
'use strict';
// `dsr`, run from a clone without a build: tsx compiles src/cli on the fly (a devDependency,
// installed by `npm ci`). See docs/operators.md.
require('tsx/cjs');
require('../src/cli/main.ts')
  .main()
  .catch((err) => {
    process.stderr.write(`error: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
