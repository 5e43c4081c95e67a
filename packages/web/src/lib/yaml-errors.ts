/**
 * Puts the server's field errors (JOB_SPEC_INVALID details: `{ path: "resources.accelerators",
 * message }`) next to the YAML lines they name. A path that names no line (a missing required
 * field) is attached to line 1 with `line: null`, so the editor can show it above the text.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export interface LocatedError extends FieldError {
  /** 1-based line, or null when the path is not in the text (e.g. a required field is missing). */
  readonly line: number | null;
}

/** The server prefixes request-validation paths with "body."; spec errors have none. */
function segments(path: string): string[] {
  const parts = path.split('.').filter((p) => p.length > 0);
  if (parts[0] === 'body') parts.shift();
  return parts;
}

export function locateErrors(yamlText: string, errors: readonly FieldError[]): LocatedError[] {
  const lc = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lc, keepSourceTokens: false });
  return errors.map((e) => {
    const parts = segments(e.path);
    let node: unknown = doc.contents;
    let keyNode: Node | null = null;
    let found: Node | null = null;
    for (const p of parts) {
      if (isMap(node)) {
        const pair = node.items.find((it) => {
          const k = it.key as { value?: unknown } | null;
          return k !== null && typeof k === 'object' && String(k.value) === p;
        });
        if (!pair) break;
        keyNode = pair.key as Node;
        node = pair.value;
        found = (pair.value as Node | null) ?? keyNode;
      } else if (isSeq(node) && /^\d+$/.test(p)) {
        const item = node.items[Number(p)] as Node | undefined;
        if (!item) break;
        node = item;
        keyNode = null;
        found = item;
      } else break;
    }
    // Prefer the key's line for mappings ("resources:" rather than the first nested line).
    const anchor = keyNode && (isMap(node) || isSeq(node)) ? keyNode : found;
    const range = anchor?.range;
    const line = parts.length > 0 && range ? lc.linePos(range[0]).line : null;
    return { ...e, line };
  });
}

/** A YAML syntax error's 1-based line, or null when the text parses. */
export function yamlSyntaxError(yamlText: string): { line: number; message: string } | null {
  const lc = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lc });
  const err = doc.errors[0];
  if (!err) return null;
  return { line: lc.linePos(err.pos[0]).line, message: err.message.split('\n')[0] ?? err.message };
}
