// Rows of a run search loaded on demand, a page at a time, for a virtualised table.
//
// The server counts the matches (count-runs), so the table knows its height up front. A page
// scrolled to in order resumes from the previous page's keyset token (stable while runs are
// added); a page jumped to far down is read by offset (search-runs `offset`), so row 90,000
// costs one request, not 900.
import { call } from "../api";
import type { Page, Run } from "../types";

export const PAGE_SIZE = 100;

export interface SearchSpec {
  experiment_ids: string[];
  filter: string | null;
  order_by: string | null;
}

export function quote(value: string): string {
  return "'" + value.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

export function andFilter(a: string | null, b: string): string {
  return a && a.trim() ? `(${a}) AND ${b}` : b;
}

export class RunWindow {
  count: number | null = null;
  error: unknown = null;
  private pages = new Map<number, Run[]>();
  private tokens = new Map<number, string>();
  private pending = new Set<number>();
  private closed = false;

  constructor(
    readonly spec: SearchSpec,
    private readonly changed: () => void,
  ) {}

  async start(): Promise<void> {
    try {
      const [counted] = await Promise.all([
        call<{ count: number }>("count-runs", { experiment_ids: this.spec.experiment_ids, filter: this.spec.filter }),
        this.load(0),
      ]);
      this.count = counted.count;
    } catch (error) {
      this.error = error;
    }
    this.notify();
  }

  close(): void {
    this.closed = true;
  }

  row(index: number): Run | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** Every loaded run (for columns derived from data). */
  *loaded(): Iterable<Run> {
    for (const page of this.pages.values()) yield* page;
  }

  /** Load the pages holding rows first..last (those not loaded or on their way). */
  ensure(first: number, last: number): void {
    for (let k = Math.floor(first / PAGE_SIZE); k <= Math.floor(last / PAGE_SIZE); k++) {
      if (this.count != null && k * PAGE_SIZE >= this.count) break;
      if (!this.pages.has(k) && !this.pending.has(k)) void this.load(k);
    }
  }

  /** Put fresher copies of runs in place (a running run's live refresh). */
  replace(runs: Run[]): void {
    const byId = new Map(runs.map((r) => [r.info.run_id, r]));
    for (const page of this.pages.values())
      for (let i = 0; i < page.length; i++) {
        const fresh = byId.get(page[i].info.run_id);
        if (fresh) page[i] = fresh;
      }
    this.notify();
  }

  private async load(k: number): Promise<void> {
    this.pending.add(k);
    const token = this.tokens.get(k);
    const body: Record<string, unknown> = {
      experiment_ids: this.spec.experiment_ids,
      filter: this.spec.filter,
      order_by: this.spec.order_by,
      max_results: PAGE_SIZE,
    };
    if (token) body.page_token = token;
    else if (k > 0) body.offset = k * PAGE_SIZE;
    try {
      const page = await call<Page<Run>>("search-runs", body);
      this.pages.set(k, page.items);
      if (page.next_page_token) this.tokens.set(k + 1, page.next_page_token);
    } catch (error) {
      if (k === 0) throw error;
      this.error = error;
    } finally {
      this.pending.delete(k);
    }
    if (k > 0) this.notify();
  }

  private notify(): void {
    if (!this.closed) this.changed();
  }
}

/** Every run a search matches, page after page (for an export). */
export async function allRuns(spec: SearchSpec, progress: (n: number) => void): Promise<Run[]> {
  const out: Run[] = [];
  let token: string | null = null;
  do {
    const page: Page<Run> = await call<Page<Run>>("search-runs", { ...spec, max_results: 5000, page_token: token });
    out.push(...page.items);
    progress(out.length);
    token = page.next_page_token;
  } while (token);
  return out;
}

/** The runs with these ids, fresh from the store. */
export async function runsById(ids: string[]): Promise<Run[]> {
  if (!ids.length) return [];
  const filter = `attributes.run_id IN (${ids.map(quote).join(", ")})`;
  const page = await call<Page<Run>>("search-runs", { experiment_ids: [], filter, max_results: ids.length });
  return page.items;
}

/** The children of these parents (for nesting), by parent id. */
export async function childrenOf(experimentId: string, parents: string[]): Promise<Map<string, Run[]>> {
  const found = new Map<string, Run[]>();
  if (!parents.length) return found;
  const filter = `attributes.parent_run_id IN (${parents.map(quote).join(", ")})`;
  const page = await call<Page<Run>>("search-runs", {
    experiment_ids: [experimentId],
    filter,
    order_by: "attributes.start_time ASC",
    max_results: 5000,
  });
  for (const run of page.items) {
    const parent = run.info.parent_run_id!;
    if (!found.has(parent)) found.set(parent, []);
    found.get(parent)!.push(run);
  }
  return found;
}
