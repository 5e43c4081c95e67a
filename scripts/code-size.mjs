#!/usr/bin/env node
// Largest functions and files by line count, read with the TypeScript compiler API (no build needed).
//   node scripts/code-size.mjs [--top N] [DIR_OR_FILE...]     (default: packages/*/src, tests excluded)
//   --tests  includes *.test.ts files
// A function is any function declaration, method, constructor, accessor, function expression or
// arrow function; its lines run from its first to its last line. Nested functions are counted on
// their own as well as inside their parent.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
let top = 10;
let tests = false;
const roots = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--top') top = Number(args[++i]);
  else if (a === '--tests') tests = true;
  else roots.push(a);
}
if (roots.length === 0) {
  for (const p of readdirSync('packages')) {
    const src = join('packages', p, 'src');
    try {
      if (statSync(src).isDirectory()) roots.push(src);
    } catch {
      // a package without src
    }
  }
}

function* walk(path) {
  const st = statSync(path);
  if (st.isFile()) {
    yield path;
    return;
  }
  for (const e of readdirSync(path)) {
    if (e === 'node_modules' || e === 'dist') continue;
    yield* walk(join(path, e));
  }
}

const files = [];
const functions = [];
for (const root of roots) {
  for (const file of walk(root)) {
    if (!/\.tsx?$/.test(file) || file.endsWith('.d.ts')) continue;
    if (!tests && /\.test\.tsx?$/.test(file)) continue;
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    const longest = Math.max(0, ...text.split('\n').map((l) => l.length));
    files.push({ file: relative('.', file), lines, longest });
    const sf = ts.createSourceFile(
      file,
      text,
      ts.ScriptTarget.Latest,
      true,
      file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
    );
    const visit = (node, owner) => {
      let name = owner;
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        let own = node.name !== undefined ? node.name.getText(sf) : undefined;
        if (own === undefined && ts.isVariableDeclaration(node.parent)) own = node.parent.name.getText(sf);
        if (own === undefined && ts.isPropertyAssignment(node.parent)) own = node.parent.name.getText(sf);
        if (ts.isConstructorDeclaration(node)) own = 'constructor';
        name = owner ? `${owner}.${own ?? '<anonymous>'}` : (own ?? '<anonymous>');
        functions.push({ file: relative('.', file), name, line: start + 1, lines: end - start + 1 });
      } else if (ts.isClassDeclaration(node) && node.name) name = node.name.getText(sf);
      ts.forEachChild(node, (c) => visit(c, name));
    };
    visit(sf, '');
  }
}

files.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
console.log(`largest files (of ${files.length}):`);
for (const f of files.slice(0, top))
  console.log(`  ${String(f.lines).padStart(5)} lines  ${f.file} (longest line ${f.longest})`);
console.log(`largest functions (of ${functions.length}):`);
for (const f of functions.slice(0, top))
  console.log(`  ${String(f.lines).padStart(5)} lines  ${f.file}:${f.line} ${f.name}`);
