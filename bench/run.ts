/**
 * `npm run bench -- <suite>`: runs one benchmark suite. A suite is the module
 * `bench/<suite>.ts` exporting `run<Suite>Bench(): Promise<Record<string, unknown>>`; it
 * prints human lines as it goes, and this runner prints its result as the last stdout line,
 * one JSON object starting with `"suite"`. Suites are loaded by name, so one that is not
 * written yet fails with a clear message instead of breaking the others.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const SUITES = ['ingest', 'speed', 'batch', 'serving'] as const;
type Suite = (typeof SUITES)[number];
type SuiteFn = () => Promise<Record<string, unknown>>;

/** A problem with what was asked for, not a failure of the suite: shown without a stack. */
class SuiteNotAvailable extends Error {}

const usage = `usage: npm run bench -- <suite>   (suites: ${SUITES.join(', ')})`;

async function loadSuite(suite: Suite): Promise<SuiteFn> {
  const file = path.join(__dirname, `${suite}.ts`);
  const fnName = `run${suite[0].toUpperCase()}${suite.slice(1)}Bench`;
  if (!existsSync(file)) throw new SuiteNotAvailable(`bench suite "${suite}" is not available yet: ${path.relative(process.cwd(), file)} does not exist`);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown> & { default?: Record<string, unknown> };
  // A CommonJS module loaded through import() may show its exports under `default` only.
  const fn = mod[fnName] ?? mod.default?.[fnName];
  if (typeof fn !== 'function') throw new SuiteNotAvailable(`bench/${suite}.ts does not export ${fnName}()`);
  return fn as SuiteFn;
}

async function main(argv: string[]): Promise<number> {
  const suite = argv[0];
  if (argv.length !== 1 || !(SUITES as readonly string[]).includes(suite)) {
    process.stderr.write(`${suite && !suite.startsWith('-') ? `unknown bench suite "${suite}"\n` : ''}${usage}\n`);
    return 2;
  }
  const run = await loadSuite(suite as Suite);
  const result = await run();
  const line = JSON.stringify({ suite, ...result });
  await new Promise<void>((resolve) => process.stdout.write(`${line}\n`, () => resolve()));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const text = err instanceof SuiteNotAvailable ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`bench failed: ${text}\n`);
    process.exit(1);
  },
);
