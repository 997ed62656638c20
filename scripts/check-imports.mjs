// Checks the shape of the import graph under src/: no import circle, and no import from a lower
// layer up into a higher one. `--graph` prints the graph by folder (and, with `--files`, by file);
// `--json` prints the findings as JSON (the unit test reads them); `--root DIR` checks another tree.
//
// The rule. Each folder of src/ (a file at the top, such as errors.ts, counts as its own folder)
// sits in one layer, unless one of its modules is named in a layer of its own (the most specific
// entry wins); a file may import from its own layer or from a lower one, never from a
// higher one. Within one layer two units (folders, or modules with their own entry) must not import
// each other (a circle between folders is a circle, even when no two files form one). Type-only imports count too: they tie the
// modules together just the same.
//
//   0  gen, types, errors, log, wire         wire types and writing, and what every module uses
//   1  store, process                        crash-safe files, locks, names; external programs
//   2  oci, network, image                   runtime spec and runc, CNI, images
//   3  store/types, config, pod,             records and settings (they name oci, network and
//      runtime-context                       image types); what a pod and its containers share
//                                            (paths, cgroups, labels); the operations' collaborators
//   4  container                             container operations
//   5  sandbox, stats                        pod operations (they stop and remove containers), readings
//   6  streaming, metrics                    exec / attach / port-forward server; Prometheus
//   7  server                                the CRI RPC layer
//   8  daemon                                start-up and recovery
//   9  cli                                   the command line
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAYERS = [
  ['gen', 'types', 'errors', 'log', 'wire'],
  ['store', 'process'],
  ['oci', 'network', 'image'],
  ['store/types', 'config', 'pod', 'runtime-context'],
  ['container'],
  ['sandbox', 'stats'],
  ['streaming', 'metrics'],
  ['server'],
  ['daemon'],
  ['cli'],
];

// Known violations, to be removed as the code that causes them moves: one import edge
// `from -> to` each (paths under src/, without .ts). None today.
export const ALLOWED = [];

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = join(here, '..', 'src');

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

// Comments are blanked (keeping string contents) so that an example in a comment is not an import.
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const IMPORT = /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** `container/create` for src/container/create.ts. */
const moduleName = (root, file) => relative(root, file).replace(/\\/g, '/').replace(/\.ts$/, '');
export const folderOf = (mod) => (mod.includes('/') ? mod.slice(0, mod.indexOf('/')) : mod);

/** The unit a module belongs to: its own layer entry if it has one, else its folder. */
export const unitOf = (mod) => (LAYERS.some((l) => l.includes(mod)) ? mod : folderOf(mod));

/** The layer of a module: its own entry if it has one, else its folder's; -1 for none. */
export function layerOf(mod) {
  const own = LAYERS.findIndex((l) => l.includes(mod));
  return own >= 0 ? own : LAYERS.findIndex((l) => l.includes(folderOf(mod)));
}

/** The edges of the graph: module -> modules it imports under src/. */
export function importGraph(root = srcRoot) {
  const graph = new Map();
  for (const file of sourceFiles(root)) {
    const text = stripComments(readFileSync(file, 'utf8'));
    const targets = new Set();
    for (const re of [IMPORT, DYNAMIC]) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m; m = re.exec(text)) {
        const spec = m[1];
        if (!spec.startsWith('.')) continue;
        let target = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
        if (!target.endsWith('.ts')) target += '.ts';
        try {
          if (!statSync(target).isFile()) continue;
        } catch {
          continue;
        }
        targets.add(moduleName(root, target));
      }
    }
    graph.set(moduleName(root, file), [...targets].sort());
  }
  return new Map([...graph].sort(([a], [b]) => a.localeCompare(b)));
}

/** Strongly connected components with more than one member (Tarjan), each sorted. */
function circles(nodes, edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges(v).includes(v)) found.push(comp.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return found;
}

export function check(graph = importGraph()) {
  const allowed = new Set(ALLOWED);
  const problems = [];
  const usedAllowances = new Set();
  const liveEdges = (from) => (graph.get(from) ?? []).filter((to) => {
    if (allowed.has(`${from} -> ${to}`)) {
      usedAllowances.add(`${from} -> ${to}`);
      return false;
    }
    return true;
  });
  for (const [from] of graph) {
    const fromLayer = layerOf(from);
    if (fromLayer < 0) problems.push(`${from}: folder "${folderOf(from)}" has no layer`);
    for (const to of liveEdges(from)) {
      const toLayer = layerOf(to);
      if (toLayer > fromLayer) problems.push(`upward import: ${from} (layer ${fromLayer}) -> ${to} (layer ${toLayer})`);
    }
  }
  for (const comp of circles([...graph.keys()], liveEdges)) problems.push(`import circle between files: ${comp.join(', ')}`);
  const folderEdges = new Map();
  for (const [from] of graph) {
    const f = unitOf(from);
    if (!folderEdges.has(f)) folderEdges.set(f, new Set());
    for (const to of liveEdges(from)) if (unitOf(to) !== f) folderEdges.get(f).add(unitOf(to));
  }
  for (const comp of circles([...folderEdges.keys()], (f) => [...(folderEdges.get(f) ?? [])])) {
    problems.push(`import circle between folders: ${comp.join(', ')}`);
  }
  const stale = ALLOWED.filter((a) => !usedAllowances.has(a));
  return { problems, stale, folderEdges };
}

function printGraph(graph, folderEdges, files) {
  const lines = [];
  const allowedUnits = new Map();
  for (const a of ALLOWED) {
    const [from, to] = a.split(' -> ');
    if ((graph.get(from) ?? []).includes(to) && !folderEdges.get(unitOf(from))?.has(unitOf(to))) {
      allowedUnits.set(unitOf(from), [...(allowedUnits.get(unitOf(from)) ?? []), `${unitOf(to)} (allowed for now)`]);
    }
  }
  for (let l = LAYERS.length - 1; l >= 0; l--) {
    for (const folder of LAYERS[l]) {
      const to = [...(folderEdges.get(folder) ?? []), ...new Set(allowedUnits.get(folder) ?? [])].sort();
      if (!folderEdges.has(folder)) continue;
      lines.push(`[${l}] ${folder} -> ${to.length ? to.join(', ') : '(nothing)'}`);
    }
  }
  if (files) {
    lines.push('');
    for (const [from, to] of graph) lines.push(`${from} -> ${to.map((t) => (ALLOWED.includes(`${from} -> ${t}`) ? `${t} (allowed for now)` : t)).join(', ')}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const rootAt = process.argv.indexOf('--root');
  const graph = importGraph(rootAt > 0 ? process.argv[rootAt + 1] : srcRoot);
  const { problems, stale, folderEdges } = check(graph);
  const all = problems.concat(stale.map((s) => `allow-list entry no longer needed: ${s}`));
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ problems, stale }, null, 2));
  } else {
    if (process.argv.includes('--graph')) console.log(printGraph(graph, folderEdges, process.argv.includes('--files')));
    for (const p of all) console.error(p);
    if (!all.length && !process.argv.includes('--graph')) console.log(`imports: ${graph.size} modules, no circle, no upward import`);
  }
  process.exit(all.length ? 1 : 0);
}
