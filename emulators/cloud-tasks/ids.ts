import { randomInt } from 'node:crypto';

/** Makes the ids of tasks created without a name: 19-digit numbers, as the service's are. */
export type TaskIdGenerator = () => string;

/** Random ids, or a repeatable sequence when given a seed. */
export function createTaskIdGenerator(seed?: number): TaskIdGenerator {
  if (seed === undefined) {
    return () => `${randomInt(1, 10)}${digits(() => randomInt(0, 10), 18)}`;
  }
  const next = mulberry32(seed);
  return () => `${1 + Math.floor(next() * 9)}${digits(() => Math.floor(next() * 10), 18)}`;
}

function digits(digit: () => number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(digit());
  return out;
}

/** A small, well-known seeded PRNG; quality is ample for ids. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
