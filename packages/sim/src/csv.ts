/**
 * A minimal CSV reader/writer for trace files: comma-separated, first line a header, fields may be
 * double-quoted (a quote inside a quoted field is doubled). Enough for every trace in
 * ../shared/traces; not a general CSV library.
 */

/** Splits one line into fields. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export interface CsvTable {
  readonly header: readonly string[];
  /** Data rows; `line` is the 1-based line number in the file, for error messages. */
  readonly rows: readonly { readonly line: number; readonly fields: readonly string[] }[];
}

export function parseCsv(text: string): CsvTable {
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim());
  const rows: { line: number; fields: string[] }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    rows.push({ line: i + 1, fields: splitCsvLine(l) });
  }
  return { header, rows };
}

export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
