import {
  commandsOf,
  fragments,
  readmeBlocks,
  runnerScript,
  showsInOrder,
} from '../../e2e/support/readme-commands';

const README = [
  '# title',
  '## First minutes',
  '<!-- readme-test -->',
  '',
  '```sh',
  'npm ci && npm start       # the stack',
  'ID=$(npx dsr requests file x.json \\',
  "  --format 'value(id)')",
  '# a comment',
  'npx dsr requests watch "$ID"   # until it ends',
  '# → completed',
  '```',
  '',
  '<!-- readme-test: skip needs a deployed project -->',
  '```sh',
  'gcloud run deploy',
  '```',
  '```text',
  '```sh inside another language is not a block',
  '```',
  '### Later',
  '```sh',
  'npm test',
  '```',
].join('\n');

describe('the README commands the readme test runs', () => {
  it('finds run, skipped and untagged sh blocks, with the heading each is under', () => {
    const blocks = readmeBlocks(README);
    expect(
      blocks.map((b) => [b.line, b.section, b.heading, b.commands?.length, b.skip, b.untagged]),
    ).toEqual([
      [5, 'First minutes', 'First minutes', 3, undefined, undefined],
      [15, 'First minutes', 'First minutes', undefined, 'needs a deployed project', undefined],
      [22, 'First minutes', 'Later', undefined, undefined, true],
    ]);
  });

  it('joins continuations, keeps comments for the shell, and marks the stack itself', () => {
    const [block] = readmeBlocks(README);
    expect(block?.commands).toEqual([
      { text: 'npm ci && npm start       # the stack', line: 6, expect: [], stack: true },
      {
        text: "ID=$(npx dsr requests file x.json \\\n  --format 'value(id)')",
        line: 7,
        expect: [],
        stack: false,
      },
      {
        text: 'npx dsr requests watch "$ID"   # until it ends',
        line: 10,
        expect: ['completed'],
        stack: false,
      },
    ]);
    expect(commandsOf(['PORT=8090 npm start'])[0]?.stack).toBe(true);
    expect(commandsOf(['npx dsr requests list'])[0]?.stack).toBe(false);
    expect(() => commandsOf(['# → nothing ran yet'])).toThrow(/before any command/);
  });

  it('matches shown output by its fragments between …, in order, whitespace ignored', () => {
    expect(fragments('{"id": "x…", "status": "in_progress", …}')).toEqual([
      '{"id":"x',
      '","status":"in_progress",',
      '}',
    ]);
    const json = '{\n  "id": "x1f",\n  "status": "in_progress",\n  "instances": []\n}';
    expect(showsInOrder(json, fragments('{"id": "x…", "status": "in_progress", …}'))).toBe(true);
    expect(showsInOrder(json, fragments('"status": "completed"'))).toBe(false);
    expect(showsInOrder('a  b\nc', fragments('c … a'))).toBe(false);
    expect(showsInOrder('TASK   STATE\nlegacy  failed', fragments('legacy failed'))).toBe(true);
  });

  it('runs every command in one shell, recording each, and stops at the first failure', () => {
    const script = runnerScript(commandsOf(['A=$(echo 1)', 'echo "$A"']), '/tmp/d');
    expect(script).toBe(
      [
        'set -u',
        '{ A=$(echo 1)',
        "} >'/tmp/d/0.out' 2>'/tmp/d/0.err' </dev/null",
        `rc=$?; echo "$rc" >'/tmp/d/0.rc'; [ "$rc" = 0 ] || exit 0`,
        '{ echo "$A"',
        "} >'/tmp/d/1.out' 2>'/tmp/d/1.err' </dev/null",
        `rc=$?; echo "$rc" >'/tmp/d/1.rc'; [ "$rc" = 0 ] || exit 0`,
        '',
      ].join('\n'),
    );
  });
});
