// Parameter importance, computed in the browser from the finished trials: for each parameter,
// the absolute Spearman rank correlation between its value and the objective (a categorical
// parameter: the correlation ratio η of the objective's ranks across its values), then scaled
// so the parameters sum to 1. Simple and documented; it sees monotone effects well and misses
// interactions, which Optuna's fANOVA (`mlcore sweep show`, `Sweep.importance()`) also weighs.

/** Ranks 1..n, ties sharing their mean rank. */
export function ranks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k][1]] = rank;
    i = j + 1;
  }
  return out;
}

function pearson(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** η: how much of the variance of `y` the groups explain (its square root). */
function correlationRatio(groups: string[], y: number[]): number {
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const total = y.reduce((a, b) => a + (b - mean) ** 2, 0);
  if (!total) return 0;
  const sums = new Map<string, [number, number]>();
  groups.forEach((g, i) => {
    const s = sums.get(g) ?? [0, 0];
    sums.set(g, [s[0] + y[i], s[1] + 1]);
  });
  let between = 0;
  for (const [sum, n] of sums.values()) between += n * (sum / n - mean) ** 2;
  return Math.sqrt(between / total);
}

/** Importance of each parameter for `objective` (rows with no objective are left out);
 * empty with fewer than 3 rows. */
export function importance(rows: { params: Record<string, unknown>; objective: number | null }[], names: string[]): Record<string, number> {
  const scored = rows.filter((r) => r.objective != null && Number.isFinite(r.objective));
  if (scored.length < 3) return {};
  const y = ranks(scored.map((r) => r.objective as number));
  const raw: Record<string, number> = {};
  for (const name of names) {
    const values = scored.map((r) => r.params[name]);
    const numeric = values.every((v) => typeof v === "number" && Number.isFinite(v));
    raw[name] = numeric ? Math.abs(pearson(ranks(values as number[]), y)) : correlationRatio(values.map((v) => String(v)), y);
  }
  const total = Object.values(raw).reduce((a, b) => a + b, 0);
  if (!total) return Object.fromEntries(names.map((n) => [n, 0]));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v / total]));
}
