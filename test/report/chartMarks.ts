// Reads a report's HTML the way a person would check it: per chart figure, its SVG and the data marks in it.
export interface FigureMarks {
  id: string;
  empty: boolean;
  points: number;
  series: number;
  hasSvg: boolean;
  /** Line mark groups (one per series) and the vertices of their paths. */
  lines: number;
  lineVertices: number;
  /** Point symbols drawn for data (not legend symbols). */
  symbols: number;
  html: string;
}

export function figures(html: string): Map<string, FigureMarks> {
  const out = new Map<string, FigureMarks>();
  for (const m of html.matchAll(/<figure class="chart" data-chart="([^"]+)" data-points="(\d+)" data-series="(\d+)"( data-empty="true")?>([\s\S]*?)<\/figure>/g)) {
    const body = m[5];
    const lineGroups = [...body.matchAll(/<g class="mark-line role-mark[^"]*"[^>]*>(<path[^>]*>)*<\/g>/g)];
    let lineVertices = 0;
    for (const g of lineGroups) {
      for (const d of g[0].matchAll(/ d="(M[^"]*)"/g)) lineVertices += (d[1].match(/[ML]/g) ?? []).length;
    }
    const symbolGroups = [...body.matchAll(/<g class="mark-symbol role-mark[^"]*"[^>]*>((?:<path[^>]*>)*)<\/g>/g)];
    const symbols = symbolGroups.reduce((n, g) => n + (g[1].match(/<path/g) ?? []).length, 0);
    out.set(m[1], {
      id: m[1],
      empty: m[4] !== undefined,
      points: Number(m[2]),
      series: Number(m[3]),
      hasSvg: /<svg[\s>]/.test(body),
      lines: lineGroups.length,
      lineVertices,
      symbols,
      html: body,
    });
  }
  return out;
}
