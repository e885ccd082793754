/**
 * `npm run faults [-- --short] [-- --only a,b] [-- --doc]`: the fault matrix (issue 17). Each
 * scenario starts a fresh weir, drives generated traffic through its collector, causes one
 * fault, recovers, lets batch cover the days, and counts from outside what was acknowledged,
 * what Kafka, the archive, the speed views and the batch views hold (scenario.ts). Prints the
 * table, and ends with one JSON line; exits 1 when anything was lost, counted twice, or
 * differs from the reference. Progress goes to stderr.
 *
 * `--short` (or FAULTS_SHORT=1): the scenarios marked short, for CI. `--doc`: also writes the
 * table to docs/faults.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/paths';
import { startComponents } from './components';
import { markdownTable, passed, summarise, textTable } from './report';
import { runScenario, type Row } from './scenario';
import { SCENARIOS } from './scenarios';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const short = args.includes('--short') || process.env.FAULTS_SHORT === '1';
  const onlyArg = args[args.indexOf('--only') + 1];
  const only = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : undefined;
  const scenarios = SCENARIOS.filter((s) => (only ? only.has(s.name) : !short || s.short));
  if (!scenarios.length) throw new Error(`no scenario selected; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);

  const t0 = Date.now();
  const say = (t: string) => process.stderr.write(`[faults ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${t}\n`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-faults-'));
  const roles = scenarios.some((s) => s.topology === 'roles');
  say(`starting the shared broker${roles ? ', ClickHouse harness and S3Proxy' : ''} in ${workDir}`);
  const components = await startComponents(workDir, { roles });
  const rows: Row[] = [];
  try {
    for (const s of scenarios) {
      const row = await runScenario(s, components, say);
      say(`${s.name}: ${row.ok ? 'ok' : 'NOT OK'} in ${row.seconds.toFixed(0)} s: ${row.outcome}${row.notes.length ? ` (${row.notes.join('; ')})` : ''}`);
      rows.push(row);
    }
  } finally {
    await components.stop();
    fs.rmSync(workDir, { recursive: true, force: true, maxRetries: 5 });
  }
  const summary = summarise(rows, { short, seconds: (Date.now() - t0) / 1000 });
  process.stdout.write(`${textTable(rows)}\n\n`);
  if (args.includes('--doc')) writeDoc(rows, JSON.stringify(summary));
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = passed(summary) ? 0 : 1;
}

function writeDoc(rows: Row[], summary: string): void {
  const file = path.join(REPO_ROOT, 'docs/faults.md');
  const intro = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('<!-- last run -->')[0] : '# Fault matrix\n\n';
  fs.writeFileSync(
    file,
    `${intro}<!-- last run -->\n\nLast full run: ${new Date().toISOString()} (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}).\n\n${markdownTable(rows)}\n\n\`\`\`json\n${summary}\n\`\`\`\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`faults: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
