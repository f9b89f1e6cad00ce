import type { DayTotals } from './aggregate.ts';

const COLORS = { ok: '#2e7d32', failed: '#c62828', cost: '#1565c0', axis: '#555', grid: '#e0e0e0' };

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[ch]};`,
  );
}

/** 1, 2 or 5 times a power of ten, so axis labels read as round numbers. */
function niceStep(max: number, ticks: number): number {
  if (max <= 0) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

function axisMax(max: number, ticks: number): { top: number; step: number } {
  const step = niceStep(max, ticks);
  return { top: Math.max(step, Math.ceil(max / step) * step), step };
}

/** Few decimals for whole values, more only when the step is small. */
function label(value: number, step: number): string {
  const decimals = step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(step)));
  return value.toFixed(decimals);
}

const n = (v: number) => Number(v.toFixed(1));

/** Where the plot sits in the picture. */
interface Frame {
  width: number;
  height: number;
  margin: { left: number; right: number; top: number; bottom: number };
  plotW: number;
  plotH: number;
  /** The plot's origin: left edge and bottom line. */
  x0: number;
  y0: number;
}

/** An axis's top value and tick step, and where a value lands on it. */
interface Scale {
  top: number;
  step: number;
  y: (v: number) => number;
}

/**
 * A hand-written SVG: per day, a stacked bar of successful (bottom) and failed images on the left
 * axis, and the day's cost as a line on the right axis. No script and no external references, so
 * it renders the same in a browser, an artifact viewer and a README.
 */
export function statsChartSvg(days: readonly DayTotals[], options: { title?: string } = {}): string {
  const title = options.title ?? 'lineup: images and cost per day';
  const f = frameFor(days.length);
  const out = header(f, title);
  if (days.length === 0) {
    out.push(
      `<rect x="${f.x0}" y="${f.margin.top}" width="${f.plotW}" height="${f.plotH}" fill="none" stroke="${COLORS.grid}"/>`,
      `<text x="${f.x0 + f.plotW / 2}" y="${f.margin.top + f.plotH / 2}" text-anchor="middle" fill="${COLORS.axis}">No batches in this range</text>`,
      '</svg>',
    );
    return `${out.join('\n')}\n`;
  }
  const scale = (top: number, step: number): Scale => ({ top, step, y: (v) => f.y0 - (v / top) * f.plotH });
  const i = axisMax(Math.max(...days.map((d) => d.successful + d.failed)), 5);
  const c = axisMax(Math.max(...days.map((d) => d.costUsd)), 5);
  const images = scale(i.top, i.step);
  const cost = scale(c.top, c.step);
  out.push(...axes(f, images, cost), ...bars(f, days, images, cost), '</svg>');
  return `${out.join('\n')}\n`;
}

function frameFor(dayCount: number): Frame {
  const slot = 36;
  const margin = { left: 64, right: 72, top: 64, bottom: 84 };
  const plotW = Math.max(480, dayCount * slot);
  const plotH = 280;
  return {
    width: margin.left + plotW + margin.right,
    height: margin.top + plotH + margin.bottom,
    margin,
    plotW,
    plotH,
    x0: margin.left,
    y0: margin.top + plotH,
  };
}

/** The picture, its title and the legend. */
function header(f: Frame, title: string): string[] {
  const { width, height, margin } = f;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${margin.left}" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  const legend: Array<[string, string]> = [
    [COLORS.ok, 'successful'],
    [COLORS.failed, 'failed'],
    [COLORS.cost, 'cost (USD)'],
  ];
  legend.forEach(([color, text], i) => {
    const x = margin.left + i * 120;
    out.push(
      `<rect x="${x}" y="36" width="12" height="12" fill="${color}"/>`,
      `<text x="${x + 18}" y="46">${escapeXml(text)}</text>`,
    );
  });
  return out;
}

/** Grid lines and ticks of both axes, the axes and their names. */
function axes(f: Frame, images: Scale, cost: Scale): string[] {
  const { x0, y0, plotW, plotH, margin, width } = f;
  const out: string[] = [];
  for (let v = 0; v <= images.top + 1e-9; v += images.step) {
    const y = n(images.y(v));
    out.push(
      `<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="${COLORS.grid}"/>`,
      `<text x="${x0 - 8}" y="${y + 4}" text-anchor="end" fill="${COLORS.axis}">${label(v, images.step)}</text>`,
    );
  }
  for (let v = 0; v <= cost.top + 1e-9; v += cost.step) {
    const y = n(cost.y(v));
    out.push(`<text x="${x0 + plotW + 8}" y="${y + 4}" fill="${COLORS.cost}">$${label(v, cost.step)}</text>`);
  }
  out.push(
    `<line x1="${x0}" y1="${margin.top}" x2="${x0}" y2="${y0}" stroke="${COLORS.axis}"/>`,
    `<line x1="${x0 + plotW}" y1="${margin.top}" x2="${x0 + plotW}" y2="${y0}" stroke="${COLORS.cost}"/>`,
    `<line x1="${x0}" y1="${y0}" x2="${x0 + plotW}" y2="${y0}" stroke="${COLORS.axis}"/>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="${COLORS.axis}">images</text>`,
    `<text transform="translate(${width - 12} ${margin.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="${COLORS.cost}">cost (USD)</text>`,
  );
  return out;
}

/** Each day's stacked bar and date, then the cost line through the days. */
function bars(f: Frame, days: readonly DayTotals[], images: Scale, cost: Scale): string[] {
  const { x0, y0, plotW } = f;
  const out: string[] = [];
  const step = plotW / days.length;
  const barW = Math.min(24, step * 0.6);
  // Dense ranges would print dates on top of each other; label every k-th day instead.
  const every = Math.max(1, Math.ceil(days.length / Math.floor(plotW / 40)));
  const points: string[] = [];
  days.forEach((d, i) => {
    const cx = x0 + step * i + step / 2;
    const okTop = images.y(d.successful);
    const failTop = images.y(d.successful + d.failed);
    const tip = `${d.date}: ${d.successful} successful, ${d.failed} failed, $${d.costUsd.toFixed(4)} (${d.batches} batch${d.batches === 1 ? '' : 'es'})`;
    out.push(`<g><title>${escapeXml(tip)}</title>`);
    if (d.successful > 0) {
      out.push(
        `<rect x="${n(cx - barW / 2)}" y="${n(okTop)}" width="${n(barW)}" height="${n(y0 - okTop)}" fill="${COLORS.ok}"/>`,
      );
    }
    if (d.failed > 0) {
      out.push(
        `<rect x="${n(cx - barW / 2)}" y="${n(failTop)}" width="${n(barW)}" height="${n(okTop - failTop)}" fill="${COLORS.failed}"/>`,
      );
    }
    out.push('</g>');
    points.push(`${n(cx)},${n(cost.y(d.costUsd))}`);
    if (i % every === 0) {
      out.push(
        `<text transform="translate(${n(cx + 4)} ${y0 + 12}) rotate(45)" fill="${COLORS.axis}">${escapeXml(d.date)}</text>`,
      );
    }
  });
  out.push(
    `<polyline points="${points.join(' ')}" fill="none" stroke="${COLORS.cost}" stroke-width="2"/>`,
    ...points.map((p) => {
      const [x, y] = p.split(',');
      return `<circle cx="${x}" cy="${y}" r="3" fill="${COLORS.cost}"/>`;
    }),
  );
  return out;
}
