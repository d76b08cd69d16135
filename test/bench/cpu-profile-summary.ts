/**
 * `npx tsx test/bench/cpu-profile-summary.ts <file.cpuprofile> [top]`: where a Node process spent its CPU, from a
 * profile written by `node --cpu-prof` (start a stack with `NODE_OPTIONS="--cpu-prof --cpu-prof-dir=<dir>"`, run
 * the benchmark, stop the stack: each Node process writes its profile when it exits). Prints self time by package
 * (or project folder, Node's internals, GC) and the functions with the most self time, as Markdown.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = path.resolve(__dirname, '..', '..');

/** Where code comes from: an npm package, a folder of this project, Node itself, or the VM's own work. */
export function origin(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (internals)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  if (file.includes('workflow-bundle')) return 'workflow bundle';
  const relative = path.relative(ROOT, file);
  if (relative.startsWith('..')) return file;
  // This project's code by folder (services/, api/, …), compiled or not.
  const parts = relative.split(path.sep).filter((part, index) => !(index === 0 && part === 'dist'));
  return parts.length > 1 ? `${parts[0]}/` : parts.join('/');
}

export function summarizeProfile(profile: CpuProfile, top = 15): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
  });
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const from = origin(url, functionName);
    byOrigin.set(from, (byOrigin.get(from) ?? 0) + us);
    const name = `${functionName || '(anonymous)'} ${url ? `${from}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const wallSeconds = (profile.endTime - profile.startTime) / 1e6;
  const table = (title: string, rows: Map<string, number>) => [
    `| ${title} | self ms | share of busy |`,
    '| --- | --- | --- |',
    ...[...rows]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, us]) =>
          `| ${name.replace(/\|/g, '\\|')} | ${(us / 1000).toFixed(0)} | ${((100 * us) / busyUs).toFixed(1)} % |`,
      ),
  ];
  return [
    `Profiled ${wallSeconds.toFixed(0)} s, busy ${(busyUs / 1e6).toFixed(1)} s (not idle).`,
    '',
    ...table('by origin', byOrigin),
    '',
    ...table('by function', byFunction),
  ].join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx test/bench/cpu-profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top ?? 15)));
}
