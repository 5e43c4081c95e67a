/**
 * Windowing for long lists: which rows to render for a scroll position. Only the rows in view,
 * plus `overscan` on each side, exist in the DOM, so 10,000 jobs cost as much as 40.
 */
export interface RowWindow {
  /** First row to render (inclusive). */
  readonly start: number;
  /** Last row to render (exclusive). */
  readonly end: number;
  /** Pixels above the first rendered row. */
  readonly offsetPx: number;
  /** Height of all rows together. */
  readonly totalPx: number;
}

export function rowWindow(
  scrollTopPx: number,
  viewportPx: number,
  rowPx: number,
  count: number,
  overscan = 8,
): RowWindow {
  const totalPx = Math.max(0, count * rowPx);
  if (count <= 0 || rowPx <= 0) return { start: 0, end: 0, offsetPx: 0, totalPx };
  const top = Math.min(Math.max(0, scrollTopPx), Math.max(0, totalPx - viewportPx));
  const first = Math.floor(top / rowPx);
  const visible = Math.ceil(Math.max(0, viewportPx) / rowPx) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end, offsetPx: start * rowPx, totalPx };
}
