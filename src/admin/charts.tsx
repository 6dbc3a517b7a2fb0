/** @jsxImportSource hono/jsx */

/**
 * Server-rendered SVG bar charts: no script, no library, nothing from another origin, and colours
 * from the stylesheet (classes, since the CSP forbids inline styles). Each chart is an image with a
 * title and a description for screen readers, and its page shows the same numbers as a table.
 */

export interface Series {
  name: string;
  /** One of the stylesheet's bar classes: bar-a … bar-e. */
  className: string;
  values: number[];
}

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 8, bottom: 28, left: 40 };

/** A "nice" axis maximum (2, 5, 10 × 10^n, so its half is a whole number) at or above `max`. */
export function niceMax(max: number): number {
  if (max <= 2) return 2;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** Grouped vertical bars: one group per label, one bar per series. */
export function BarChart(props: { id: string; title: string; description: string; labels: string[]; series: Series[]; labelEvery?: number }) {
  const { labels, series } = props;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const groupW = plotW / Math.max(1, labels.length);
  const barW = Math.max(1, (groupW * 0.8) / Math.max(1, series.length));
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const every = props.labelEvery ?? 1;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${props.id}-title ${props.id}-desc`}>
        <title id={`${props.id}-title`}>{props.title}</title>
        <desc id={`${props.id}-desc`}>{props.description}</desc>
        {[0, 0.5, 1].map((f) => (
          <g>
            <line class="chart-axis" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(max * f)} y2={y(max * f)} />
            <text class="chart-label" x={PAD.left - 4} y={y(max * f) + 4} text-anchor="end">
              {String(Math.round(max * f))}
            </text>
          </g>
        ))}
        {labels.map((label, i) => (
          <g>
            {series.map((s, j) => {
              const v = s.values[i] ?? 0;
              return (
                <rect class={s.className} x={PAD.left + i * groupW + groupW * 0.1 + j * barW} y={y(v)} width={barW} height={Math.max(0, PAD.top + plotH - y(v))}>
                  <title>{`${label}: ${v} ${s.name.toLowerCase()}`}</title>
                </rect>
              );
            })}
            {i % every === 0 && (
              <text class="chart-label" x={PAD.left + i * groupW + groupW / 2} y={HEIGHT - 10} text-anchor="middle">
                {label}
              </text>
            )}
          </g>
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          {series.map((s) => (
            <li>
              <svg viewBox="0 0 10 10" aria-hidden="true">
                <rect class={s.className} width="10" height="10" />
              </svg>
              {s.name}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
