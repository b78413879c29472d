// A layered ("Sugiyama-lite") layout for small DAGs, left to right: each node's column is the
// longest path to it from a source; rows within a column are ordered by a few sweeps of the
// barycenter heuristic (the mean row of a node's neighbours) to keep edges from crossing.
// Cycles (which a DAG should not have) are broken by putting the rest in a last column.

export interface LayoutEdge {
  source: string;
  target: string;
}

export interface Placed {
  x: number;
  y: number;
  layer: number;
}

export interface Layout {
  positions: Map<string, Placed>;
  width: number;
  height: number;
}

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 46;
const GAP_X = 70;
const GAP_Y = 22;
const PAD = 12;

/** Columns by longest path from the sources (Kahn's order); nodes on a cycle go last. */
export function layers(ids: string[], edges: LayoutEdge[]): Map<string, number> {
  const known = new Set(ids);
  const incoming = new Map<string, number>(ids.map((id) => [id, 0]));
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (!known.has(e.source) || !known.has(e.target) || e.source === e.target) continue;
    out.get(e.source)!.push(e.target);
    incoming.set(e.target, incoming.get(e.target)! + 1);
  }
  const layer = new Map<string, number>(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => incoming.get(id) === 0);
  const seen = new Set<string>();
  while (queue.length) {
    const id = queue.shift()!;
    seen.add(id);
    for (const next of out.get(id)!) {
      layer.set(next, Math.max(layer.get(next)!, layer.get(id)! + 1));
      incoming.set(next, incoming.get(next)! - 1);
      if (incoming.get(next) === 0) queue.push(next);
    }
  }
  const last = Math.max(0, ...[...seen].map((id) => layer.get(id)!)) + 1;
  for (const id of ids) if (!seen.has(id)) layer.set(id, last);
  return layer;
}

export function layout(ids: string[], edges: LayoutEdge[]): Layout {
  const layer = layers(ids, edges);
  const columns: string[][] = [];
  for (const id of ids) (columns[layer.get(id)!] ??= []).push(id);
  for (let i = 0; i < columns.length; i++) columns[i] ??= [];
  const neighbours = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (!neighbours.has(e.source) || !neighbours.has(e.target)) continue;
    neighbours.get(e.source)!.push(e.target);
    neighbours.get(e.target)!.push(e.source);
  }
  const row = new Map<string, number>();
  const number = () => columns.forEach((column) => column.forEach((id, i) => row.set(id, i)));
  number();
  for (let sweep = 0; sweep < 4; sweep++) {
    const order = sweep % 2 === 0 ? columns : [...columns].reverse();
    for (const column of order) {
      const score = new Map<string, number>();
      for (const id of column) {
        const rows = neighbours.get(id)!.filter((n) => layer.get(n) !== layer.get(id)).map((n) => row.get(n)!);
        score.set(id, rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : row.get(id)!);
      }
      column.sort((a, b) => score.get(a)! - score.get(b)!);
      column.forEach((id, i) => row.set(id, i));
    }
  }
  number();
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = PAD * 2 + tallest * NODE_HEIGHT + (tallest - 1) * GAP_Y;
  const width = PAD * 2 + columns.length * NODE_WIDTH + Math.max(0, columns.length - 1) * GAP_X;
  const positions = new Map<string, Placed>();
  columns.forEach((column, l) => {
    const used = column.length * NODE_HEIGHT + (column.length - 1) * GAP_Y;
    const top = (height - used) / 2;
    column.forEach((id, i) => {
      positions.set(id, { x: PAD + l * (NODE_WIDTH + GAP_X), y: top + i * (NODE_HEIGHT + GAP_Y), layer: l });
    });
  });
  return { positions, width, height };
}
