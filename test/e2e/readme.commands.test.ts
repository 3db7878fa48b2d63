import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack';
import { testProjectId } from '../helpers/project-id';
import {
  readmeBlocks,
  runnerScript,
  showsInOrder,
  type ReadmeCommand,
} from './support/readme-commands';

/**
 * The README's commands (its first minutes and the curl examples), run as written
 * (test/e2e/support/readme-commands.ts says how the README marks what is run): in order, in one
 * shell, against a fresh local stack on free ports that stands in for `npm start`, with the
 * README's http://localhost:8080 (and DSR_API) pointed at it.
 */
const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The sections a newcomer reads first: every sh block in them is either run or says why not. */
const CHECKED_SECTIONS = ['First minutes', 'The API with curl'];
/**
 * Run before the README's commands: curl fails (exit 22, body shown) on an HTTP error, as a
 * reader would notice one; without it `curl -s` exits 0 whatever the api answers.
 */
const PRELUDE = [
  'curl() { command curl --fail-with-body "$@"; }',
  // `npx dsr` runs bin/dsr.js: a test below proves it once through npx itself; here npx's own
  // start-up (seconds a call) is skipped.
  'npx() { if [ "${1-}" = dsr ]; then shift; node ./bin/dsr.js "$@"; else command npx "$@"; fi; }',
];
/** What the whole sequence may take (the stack is already up). */
const RUN_TIMEOUT_MS = 240_000;

interface Outcome {
  command: ReadmeCommand;
  rc?: number;
  stdout: string;
  stderr: string;
}

/** Runs a bash script in `cwd` with `env`; kills its process group if it overruns. */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env, detached: true, stdio: 'ignore' });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`the README commands ran over ${RUN_TIMEOUT_MS} ms`));
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * A scratch directory that looks like a clone to the commands (`examples/…`, `npx dsr` through
 * the package's bin), so files they write (records.zip) land there and not in the repository.
 */
function scratchClone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dsr-readme-'));
  for (const entry of ['package.json', 'bin', 'examples', 'node_modules']) {
    symlinkSync(join(ROOT, entry), join(dir, entry));
  }
  return dir;
}

describe('the README first minutes, run as written', () => {
  const blocks = readmeBlocks(README);
  const commands = blocks.flatMap((b) => b.commands ?? []);

  it('marks every shell block of the first minutes and the curl examples as run, or says why not', () => {
    for (const section of CHECKED_SECTIONS) {
      expect({ section, blocks: blocks.filter((b) => b.section === section).length > 0 }).toEqual({
        section,
        blocks: true,
      });
    }
    const untagged = blocks.filter((b) => CHECKED_SECTIONS.includes(b.section) && b.untagged);
    expect(untagged.map((b) => `README.md:${b.line}`)).toEqual([]);
    // The stack itself comes first; the rest is the part a newcomer types.
    expect(commands[0]?.stack).toBe(true);
    expect(commands.filter((c) => !c.stack).length).toBeGreaterThan(10);
  });

  it('links only to files that exist', () => {
    const targets = [
      ...new Set(
        [...README.matchAll(/\]\(([^)#\s]+)(?:#[^)\s]*)?\)/g)]
          .map((m) => m[1] ?? '')
          .filter((target) => !/^[a-z]+:/.test(target)),
      ),
    ];
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((target) => !existsSync(join(ROOT, target)))).toEqual([]);
  });

  describe('against a local stack', () => {
    let stack: LocalStack;
    let dir: string;
    let outcomes: Outcome[] = [];
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      stack = await startLocalStack({
        projectId: testProjectId('readme'),
        apiPort: 0,
        dispatchIntervalMs: 1000,
      });
      dir = scratchClone();
      const out = join(dir, '.out');
      mkdirSync(out);
      const api = new URL(stack.apiUrl).host;
      const run = commands
        .filter((c) => !c.stack)
        .map((c) => ({ ...c, text: c.text.replaceAll(/(?:localhost|127\.0\.0\.1):8080/g, api) }));
      writeFileSync(join(dir, 'run.sh'), runnerScript(run, out, PRELUDE));
      env = {
        ...process.env,
        DSR_API: stack.apiUrl,
        NO_COLOR: '1',
        // `npx dsr` is this package's bin: never a download from the registry.
        npm_config_offline: 'true',
      };
      await bash(`bash ${join(dir, 'run.sh')}`, dir, env);
      const read = (n: number, ext: string) => {
        const file = join(out, `${n}.${ext}`);
        return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      };
      outcomes = run.map((command, n) => {
        const rc = read(n, 'rc');
        return {
          command,
          ...(rc === undefined ? {} : { rc: Number(rc.trim()) }),
          stdout: read(n, 'out') ?? '',
          stderr: read(n, 'err') ?? '',
        };
      });
    }, 300_000);
    afterAll(async () => {
      await stack?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("`npx dsr` runs this clone's bin/dsr.js, with nothing fetched from a registry", async () => {
      const code = await bash('npx dsr --help >.out/npx.out 2>.out/npx.err', dir, env);
      const stderr = readFileSync(join(dir, '.out/npx.err'), 'utf8');
      expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
      expect(readFileSync(join(dir, '.out/npx.out'), 'utf8')).toMatch(/^Usage: dsr /);
    });

    it('runs each command with exit code 0, and prints what the README shows', () => {
      for (const { command, rc, stdout, stderr } of outcomes) {
        const where = `README.md:${command.line}: ${command.text}`;
        expect({ where, rc, stderr: rc === 0 ? '' : stderr }).toEqual({ where, rc: 0, stderr: '' });
        if (command.expect.length > 0) {
          expect({ where, shows: showsInOrder(stdout, command.expect), stdout }).toMatchObject({
            where,
            shows: true,
          });
        }
      }
    });
  });
});
