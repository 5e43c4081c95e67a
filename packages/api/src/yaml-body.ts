/**
 * YAML request bodies (job specs as they are written in files), parsed with bounds. The `yaml`
 * library's `maxAliasCount` applies per anchor, so a document with many anchors each aliased up to
 * that count still expands a small body into a huge value (a 1 MB body became a 98 MB job spec).
 * Here the whole document is bounded before any value is built:
 *  - at most `maxAliases` alias nodes in all (`*name` written anywhere);
 *  - at most `maxExpandedChars` of scalars once every alias is expanded, computed on the parsed
 *    tree (each anchored node measured once) without building the expansion.
 * Past either bound the body is refused as BODY_MALFORMED before the spec compiler sees it; the
 * compiled spec has its own bound (`JOB_SPEC_LIMITS.specMaxJsonChars`).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document } from 'yaml';

export const YAML_BODY_LIMITS = {
  /** Alias nodes (`*name`) in one document, all anchors together. */
  maxAliases: 100,
  /** Characters of scalars (keys and values) after alias expansion. */
  maxExpandedChars: 1024 * 1024,
} as const;

export class YamlBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlBodyError';
  }
}

/** Parses one YAML document within `YAML_BODY_LIMITS`; throws YamlBodyError saying what is wrong. */
export function parseBoundedYaml(text: string, limits = YAML_BODY_LIMITS): unknown {
  const doc = parseDocument(text, { prettyErrors: false });
  const first = doc.errors[0];
  if (first) throw new YamlBodyError(first.message);
  let aliases = 0;
  const sizes = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  const sizeOf = (node: unknown): number => {
    if (node === null || node === undefined) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (inProgress.has(node)) throw new YamlBodyError('an alias refers to a node that contains it');
    inProgress.add(node);
    let n = 1;
    if (isAlias(node)) {
      aliases += 1;
      if (aliases > limits.maxAliases)
        throw new YamlBodyError(`the document has more than ${limits.maxAliases} aliases (*name) in all`);
      n = sizeOf(node.resolve(doc as Document));
      // An alias is counted where it is written, not memoised: each occurrence expands again.
      inProgress.delete(node);
      return n;
    }
    if (isScalar(node)) n = String(node.value).length + 1;
    else if (isPair(node)) n = sizeOf(node.key) + sizeOf(node.value);
    else if (isMap(node) || isSeq(node)) for (const item of node.items) n += sizeOf(item);
    else n = String(node).length + 1;
    if (n > limits.maxExpandedChars)
      throw new YamlBodyError(
        `the document expands to more than ${limits.maxExpandedChars} characters once its aliases are resolved`,
      );
    inProgress.delete(node);
    sizes.set(node, n);
    return n;
  };
  sizeOf(doc.contents);
  return doc.toJS({ maxAliasCount: limits.maxAliases });
}
