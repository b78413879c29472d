// Draws a DAG as SVG with the layered layout: boxes with a title and a line under it, edges
// as curves from the right of one box to the left of the next. Nodes link somewhere (`href`)
// or tell the page they were picked (`onSelect`).
import type { ComponentChildren } from "preact";
import { onLinkClick } from "../router";
import { layout, NODE_HEIGHT, NODE_WIDTH, type LayoutEdge } from "./layout";
import "./dag.css";

export interface DagNode {
  id: string;
  title: string;
  detail?: string;
  /** a CSS class for the box (its colour: a status, a kind) */
  kind?: string;
  href?: string;
  marks?: string[];
}

function clip(text: string, room: number): string {
  return text.length > room ? text.slice(0, room - 1) + "…" : text;
}

export function Dag(props: {
  nodes: DagNode[];
  edges: LayoutEdge[];
  selected?: string | null;
  onSelect?: (id: string) => void;
  label: string;
}) {
  const { positions, width, height } = layout(
    props.nodes.map((n) => n.id),
    props.edges,
  );
  const edges = props.edges.filter((e) => positions.has(e.source) && positions.has(e.target));
  return (
    <div class="dag-frame">
      <svg class="dag" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.label}>
        <defs>
          <marker id="dag-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L8,4 L0,8 z" class="dag-arrow" />
          </marker>
        </defs>
        {edges.map((e) => {
          const a = positions.get(e.source)!;
          const b = positions.get(e.target)!;
          const x1 = a.x + NODE_WIDTH;
          const y1 = a.y + NODE_HEIGHT / 2;
          const x2 = b.x;
          const y2 = b.y + NODE_HEIGHT / 2;
          const mid = (x1 + x2) / 2;
          return (
            <path
              key={`${e.source}->${e.target}`}
              class="dag-edge"
              d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`}
              marker-end="url(#dag-arrow)"
            />
          );
        })}
        {props.nodes.map((node) => {
          const p = positions.get(node.id)!;
          const box: ComponentChildren = (
            <g transform={`translate(${p.x},${p.y})`}>
              <rect
                class={`dag-node ${node.kind ?? ""} ${props.selected === node.id ? "selected" : ""}`}
                width={NODE_WIDTH}
                height={NODE_HEIGHT}
                rx="6"
              />
              <title>{node.title + (node.detail ? `\n${node.detail}` : "")}</title>
              <text x="10" y="18" class="dag-title">
                {clip(node.title, 24)}
              </text>
              <text x="10" y="35" class="dag-detail">
                {clip([node.detail, ...(node.marks ?? [])].filter(Boolean).join(" · "), 30)}
              </text>
            </g>
          );
          if (props.onSelect) {
            const select = props.onSelect;
            return (
              <g
                key={node.id}
                class="dag-pick"
                data-node={node.id}
                role="button"
                tabIndex={0}
                aria-label={node.title}
                onClick={() => select(node.id)}
                onKeyDown={(event) => (event.key === "Enter" || event.key === " ") && select(node.id)}
              >
                {box}
              </g>
            );
          }
          if (node.href)
            return (
              <a key={node.id} href={node.href} onClick={onLinkClick} data-node={node.id} aria-label={node.title}>
                {box}
              </a>
            );
          return (
            <g key={node.id} data-node={node.id}>
              {box}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
