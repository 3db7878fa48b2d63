/**
 * `npm run bench -- <name>` runs bench/<name>.ts. Each benchmark prints its own figures and ends
 * each scenario with one machine-readable `BENCH {...}` line, then a human table.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const available = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.replace(/\.ts$/, ''));
  const name = process.argv[2];
  if (name === undefined || !available.includes(name)) {
    console.error(`usage: npm run bench -- <${available.join('|')}>`);
    process.exit(2);
  }
  const mod = (await import(join(__dirname, `${name}.ts`))) as {
    main: (args: string[]) => Promise<void>;
  };
  await mod.main(process.argv.slice(3));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
