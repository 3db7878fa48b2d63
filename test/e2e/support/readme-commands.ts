/**
 * The README's runnable commands. A fenced ```sh block right after the comment
 * `<!-- readme-test -->` is run, in order, by test/e2e/readme.commands.test.ts; one after
 * `<!-- readme-test: skip REASON -->` is shown but not run. In a run block:
 * - a command is a line not starting with `#`, with any lines it continues with a trailing `\`;
 *   its own trailing `# comment` is left to the shell;
 * - `# → TEXT` under a command is what its output shows: the fragments of TEXT between `…` must
 *   appear in its stdout, in order, whitespace ignored (so a table and JSON both match);
 * - other `#` lines are comments;
 * - `npm ci` and `npm start` (the stack itself) are not run: the test starts its own.
 */

export interface ReadmeCommand {
  /** The command as the README shows it (continuations joined with their `\`). */
  text: string;
  /** 1-based line of the README where it starts. */
  line: number;
  /** The output fragments it must print, in order (empty: any output). */
  expect: string[];
  /** The local stack itself: replaced by the test's own. */
  stack: boolean;
}

export interface ReadmeBlock {
  line: number;
  /** The `##` section it is in, and the nearest `##`/`###` heading above it. */
  section: string;
  heading: string;
  /** Absent for a shown-only block; `skip` holds the reason. */
  commands?: ReadmeCommand[];
  skip?: string;
  /** A ```sh block with no readme-test comment at all. */
  untagged?: boolean;
}

const TAG = /^<!--\s*readme-test(?::\s*skip\s+(.+?))?\s*-->$/;
const STACK = /^(?:[A-Z_]+=\S*\s+)*npm (?:ci|start)\b/;

/** Every ```sh block of a Markdown text, tagged or not, with its commands when it is run. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let section = '';
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^## /.test(line)) section = line.slice(3);
    if (/^#{2,3} /.test(line)) heading = line.replace(/^#+ /, '');
    if (!/^```(?:sh|bash|shell)\s*$/.test(line)) {
      if (line.startsWith('```')) i = closingFence(lines, i); // another language: skip its body
      continue;
    }
    const end = closingFence(lines, i);
    const body = lines.slice(i + 1, end);
    const tag = previousNonBlank(lines, i)?.match(TAG);
    const block: ReadmeBlock = { line: i + 1, section, heading };
    if (tag === undefined || tag === null) block.untagged = true;
    else if (tag[1] !== undefined) block.skip = tag[1];
    else block.commands = commandsOf(body, i + 2);
    blocks.push(block);
    i = end;
  }
  return blocks;
}

function closingFence(lines: readonly string[], open: number): number {
  for (let j = open + 1; j < lines.length; j++) if (/^```\s*$/.test(lines[j] ?? '')) return j;
  throw new Error(`the code block at line ${open + 1} is never closed`);
}

function previousNonBlank(lines: readonly string[], i: number): string | undefined {
  for (let j = i - 1; j >= 0; j--) {
    const line = lines[j]?.trim() ?? '';
    if (line !== '') return line;
  }
  return undefined;
}

/** The commands of one block's body, whose first line is README line `firstLine`. */
export function commandsOf(body: readonly string[], firstLine = 1): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  for (let i = 0; i < body.length; i++) {
    const raw = body[i] ?? '';
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const shown = /^#\s*→\s?(.*)$/.exec(trimmed);
      const last = commands.at(-1);
      if (shown !== null) {
        if (last === undefined)
          throw new Error(`line ${firstLine + i}: output shown before any command`);
        last.expect.push(...fragments(shown[1] ?? ''));
      }
      continue;
    }
    const start = i;
    let text = raw;
    while (/\\$/.test(body[i] ?? '') && i + 1 < body.length) {
      i++;
      text += `\n${body[i] ?? ''}`;
    }
    commands.push({ text, line: firstLine + start, expect: [], stack: STACK.test(trimmed) });
  }
  return commands;
}

/** What `# → TEXT` asks for: the parts between `…`, without whitespace. */
export function fragments(text: string): string[] {
  return text
    .split('…')
    .map((part) => part.replace(/\s+/g, ''))
    .filter((part) => part !== '');
}

/** Whether `output` shows every fragment, in order, whitespace ignored. */
export function showsInOrder(output: string, expected: readonly string[]): boolean {
  const flat = output.replace(/\s+/g, '');
  let from = 0;
  for (const part of expected) {
    const at = flat.indexOf(part, from);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}

/**
 * One bash script that runs the commands in order in one shell (so `ID=$(…)` carries over),
 * each one's stdout, stderr and exit code to `<dir>/<n>.out|err|rc`, stopping at the first
 * that fails. Stdin is /dev/null: nothing may wait for a keyboard.
 */
export function runnerScript(
  commands: readonly ReadmeCommand[],
  dir: string,
  prelude: readonly string[] = [],
): string {
  const lines = ['set -u', ...prelude];
  commands.forEach((command, n) => {
    lines.push(
      `{ ${command.text}`,
      `} >'${dir}/${n}.out' 2>'${dir}/${n}.err' </dev/null`,
      `rc=$?; echo "$rc" >'${dir}/${n}.rc'; [ "$rc" = 0 ] || exit 0`,
    );
  });
  return `${lines.join('\n')}\n`;
}
