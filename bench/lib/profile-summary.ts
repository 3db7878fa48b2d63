/**
 * `npx tsx bench/lib/profile-summary.ts <file.cpuprofile> [--top 15]`: a V8 CPU profile
 * (`node --cpu-prof`) summed by where the time went, self time only:
 * - `domain / async hooks`: Node's domain module and the async-hook machinery it switches on
 *   (init, before/after, destroy tracking, promise hooks), wherever it is called from;
 * - each npm package under node_modules (by its name);
 * - our code (`src/…`, `functions/…`, `bench/…`, `emulators/…`, by top folder);
 * - Node's own internals (`node:` URLs), and V8's `(garbage collector)`, `(program)`, `(idle)`.
 * Prints a table of shares (of the non-idle time) and the top functions of the hook bucket.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const HOOK_FUNCTIONS =
  /^(emitInit|emitBefore|emitAfter|emitDestroy|emitPromiseResolve|destroyHooksExist|emitInitScript|emitBeforeScript|emitAfterScript|emitDestroyScript|promiseInitHook|promiseBeforeHook|promiseAfterHook|promiseResolveHook|destroyTracking|trackPromise|registerDestroyHook|topLevelDomainCallback|updateExceptionCapture|init|before|after|destroy)$/;

/** Which bucket a frame's self time belongs to. */
export function bucketOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName;
    return '(native)';
  }
  if (/node:(domain|async_hooks|internal\/async_hooks|internal\/async_local_storage)/.test(url)) {
    return 'domain / async hooks';
  }
  if (url.startsWith('node:')) {
    return HOOK_FUNCTIONS.test(functionName) && url.includes('promise')
      ? 'domain / async hooks'
      : 'node internals';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  // The last node_modules segment names the package that owns the frame.
  const all = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  if (pkg !== null) return all[all.length - 1]![1]!;
  const ours = /\/work\/[^/]+\/(src|functions|bench|emulators|scripts|test)\//.exec(url);
  if (ours !== null) return `ours: ${ours[1]}/`;
  return 'other';
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '15' } },
  });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile>');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const buckets = new Map<string, number>();
  const hookFns = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const bucket = bucketOf(node.callFrame);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
    if (bucket !== '(idle)') total += us;
    if (bucket === 'domain / async hooks') {
      const key = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url}`;
      hookFns.set(key, (hookFns.get(key) ?? 0) + us);
    }
  }
  const rows = [...buckets.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  console.log(`profile: ${file}`);
  console.log(`non-idle time: ${(total / 1e6).toFixed(2)} s`);
  console.log('| where | self ms | share of non-idle |');
  console.log('| --- | --- | --- |');
  for (const [bucket, us] of rows) {
    const share = bucket === '(idle)' ? '' : `${((100 * us) / total).toFixed(1)} %`;
    console.log(`| ${bucket} | ${(us / 1000).toFixed(0)} | ${share} |`);
  }
  if (hookFns.size > 0) {
    console.log('\ndomain / async hooks, by function:');
    for (const [fn, us] of [...hookFns.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
      console.log(`  ${(us / 1000).toFixed(0)} ms  ${fn}`);
    }
  }
}

if (require.main === module) main();
