/** The fault matrix's output: the table (text for the terminal, markdown for docs/faults.md) and the summary line. */
import type { Row } from './scenario';

const HEAD = ['scenario', 'topology', 'acked', 'in Kafka', 'in archive', 'speed views', 'batch views', 'lost', 'counted twice', 'recover s', 'batch run s', 'batch = reference', 'outcome'];

const cell = (v: number | boolean | undefined, digits = 0) => (v === undefined ? '–' : typeof v === 'boolean' ? (v ? 'yes' : 'NO') : v.toFixed(digits));

function cells(r: Row): string[] {
  return [
    r.scenario,
    r.topology,
    cell(r.acked),
    cell(r.kafkaRecords),
    cell(r.archiveRecords),
    cell(r.speedEvents),
    cell(r.batchEvents),
    cell(r.lost),
    cell(r.countedTwice),
    cell(r.recoverSeconds, 1),
    cell(r.batchSeconds, 1),
    cell(r.batchEqualReference),
    r.outcome,
  ];
}

export function textTable(rows: Row[]): string {
  const body = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...body.map((r) => r[i].length)));
  const lines = body.map((r) => r.map((c, i) => (i === HEAD.length - 1 ? c : c.padEnd(widths[i]))).join('  '));
  const notes = rows.flatMap((r) => r.notes.map((n) => `  ${r.scenario}: ${n}`));
  return [...lines, '', 'fault of each scenario:', ...rows.map((r) => `  ${r.scenario}: ${r.fault}`), ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (c: string[]) => `| ${c.map(esc).join(' | ')} |`;
  const notes = rows.flatMap((r) => r.notes.map((n) => `- \`${r.scenario}\`: ${esc(n)}`));
  return [
    line(HEAD),
    line(HEAD.map(() => '---')),
    ...rows.map((r) => line(cells(r))),
    '',
    'Faults:',
    '',
    ...rows.map((r) => `- \`${r.scenario}\`: ${esc(r.fault)}`),
    ...(notes.length ? ['', 'Notes:', '', ...notes] : []),
  ].join('\n');
}

export interface Summary {
  suite: 'faults';
  scenarios: number;
  lost: number;
  double_counted: number;
  batch_equal_reference: boolean;
  failed: string[];
  not_run: string[];
  short: boolean;
  seconds: number;
}

export function summarise(rows: Row[], o: { short: boolean; seconds: number }): Summary {
  const counted = rows.filter((r) => r.counted);
  return {
    suite: 'faults',
    scenarios: counted.length,
    lost: counted.reduce((a, r) => a + (r.lost ?? 0), 0),
    double_counted: counted.reduce((a, r) => a + (r.countedTwice ?? 0), 0),
    // A refusal leaves the days uncovered (no batch views to compare); every other row must compare equal.
    batch_equal_reference: counted.every((r) => r.refusal || r.batchEqualReference === true),
    failed: counted.filter((r) => !r.ok).map((r) => r.scenario),
    not_run: rows.filter((r) => !r.counted).map((r) => r.scenario),
    short: o.short,
    seconds: Math.round(o.seconds),
  };
}

export const passed = (s: Summary) => s.lost === 0 && s.double_counted === 0 && s.batch_equal_reference && s.failed.length === 0;
