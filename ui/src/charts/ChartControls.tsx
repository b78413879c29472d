// The controls every chart on a page shares: x-axis, log scale, smoothing. They live in the
// query string (`x`, `log`, `smooth`), so a link or a reload shows the same charts.
import type { ChartSettings, XAxis } from "./series";

export function ChartControls(props: {
  settings: ChartSettings;
  metricKeys: string[];
  onChange: (settings: ChartSettings) => void;
}) {
  const { settings, onChange } = props;
  return (
    <div class="chart-controls" data-testid="chart-controls">
      <label>
        X-axis
        <select
          name="x-axis"
          value={settings.x}
          onChange={(e) => onChange({ ...settings, x: (e.target as HTMLSelectElement).value as XAxis })}
        >
          <option value="step">Step</option>
          <option value="wall">Wall time</option>
          <option value="relative">Relative time</option>
          {props.metricKeys.map((k) => (
            <option key={k} value={`metric:${k}`}>
              Metric: {k}
            </option>
          ))}
        </select>
      </label>
      <label>
        <input
          type="checkbox"
          name="log-scale"
          checked={settings.log}
          onChange={(e) => onChange({ ...settings, log: (e.target as HTMLInputElement).checked })}
        />
        Log scale
      </label>
      <label>
        Smoothing
        <input
          type="range"
          name="smoothing"
          min="0"
          max="0.99"
          step="0.01"
          value={settings.smoothing}
          onChange={(e) => onChange({ ...settings, smoothing: Number((e.target as HTMLInputElement).value) })}
        />
        <span class="mono">{settings.smoothing.toFixed(2)}</span>
      </label>
    </div>
  );
}
