/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. `BENCH_CPU_PROF=<dir>` in the
 * ingest bench): self and total time per function and self time per module, as percentages
 * of the busy (non-idle) time.
 *
 *   node --import tsx bench/support/cpu-profile-summary.ts <file.cpuprofile> [--top 30] [--from-s 5] [--to-s 40]
 *
 * `--from-s` / `--to-s` keep only the samples in that window (seconds from the profile's
 * start), to leave out start-up.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/paths';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)']);

function moduleOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = u.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  return path.relative(REPO_ROOT, u);
}

/** A file as `package/path/in/package.js`, `node:…` or relative to the repository. */
function fileOf(url: string): string {
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  return nm >= 0 ? u.slice(nm + 'node_modules/'.length) : u.startsWith('node:') ? u : path.relative(REPO_ROOT, u);
}

export function summarise(profile: CpuProfile, opts: { top?: number; fromS?: number; toS?: number } = {}): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => {
    const f = n.callFrame;
    const where = f.url ? `${fileOf(f.url)}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let t = 0;
  const from = (opts.fromS ?? 0) * 1e6;
  const to = (opts.toS ?? Number.POSITIVE_INFINITY) * 1e6;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample lasts until the next one
    t += profile.timeDeltas[i];
    if (t < from || t > to) continue;
    const node = byId.get(profile.samples[i]) as ProfileNode;
    if (IDLE.has(node.callFrame.functionName)) {
      idle += dt;
      continue;
    }
    busy += dt;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const m = moduleOf(node.callFrame.url, node.callFrame.functionName);
    modules.set(m, (modules.get(m) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const sk = key(byId.get(id) as ProfileNode);
      if (seen.has(sk)) continue;
      seen.add(sk);
      total.set(sk, (total.get(sk) ?? 0) + dt);
    }
  }
  const top = opts.top ?? 30;
  const pct = (v: number) => `${((v / busy) * 100).toFixed(1).padStart(5)} %`;
  const table = (title: string, m: Map<string, number>, n: number) =>
    [title, ...[...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `  ${pct(v)}  ${k}`)].join('\n');
  return [
    `busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s (${((busy / (busy + idle)) * 100).toFixed(0)} % busy); percentages of busy time`,
    table('self time by module:', modules, 20),
    table('self time by function:', self, top),
    table('total time by function (callees included):', total, top),
  ].join('\n\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args.splice(i, 2)[1]) : undefined;
  };
  const top = flag('--top');
  const fromS = flag('--from-s');
  const toS = flag('--to-s');
  if (args.length !== 1) {
    process.stderr.write('usage: cpu-profile-summary.ts <file.cpuprofile> [--top N] [--from-s S] [--to-s S]\n');
    process.exit(2);
  }
  process.stdout.write(`${summarise(JSON.parse(readFileSync(args[0], 'utf8')) as CpuProfile, { top, fromS, toS })}\n`);
}
