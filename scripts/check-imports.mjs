#!/usr/bin/env node
// Import rules, checked over every package's src (run by `npm run lint`):
//   1. no undeclared dependencies: a bare import in packages/P/src must name a Node built-in, P
//      itself, or a package listed in P's package.json. What P's entry point (`main`) loads at run
//      time, and every non-test module of a package that is not bundled, needs `dependencies`;
//      tests, test helpers and code a bundler builds into static files (web's src/ui) may also use
//      `devDependencies` and the root's devDependencies;
//   2. shipped code imports no test helper (tests, testing/, test/, bench/, contract.ts: see isTestOnly);
//   3. no cycles: neither between workspace packages (their `dependencies` and what src imports)
//      nor between the modules of one package (runtime imports: `import type` is erased).
// Reads the sources with the TypeScript compiler API; no build needed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const builtins = new Set(builtinModules);
const problems = [];

/** A file that only tests read: *.test.ts(x), testing.ts, testing-*.ts, test-*.ts, contract.ts, anything under testing/, test/ or bench/. */
const isTestOnly = (rel) =>
  /\.test\.tsx?$/.test(rel) ||
  /(^|\/)(testing|test|bench)\//.test(rel) ||
  /(^|\/)(testing|test)(-[\w-]+)?\.tsx?$/.test(rel) ||
  /(^|\/)([\w-]+\.)?contract\.ts$/.test(rel);

function* walk(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === 'node_modules' || e === 'dist') continue;
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (/\.tsx?$/.test(e) && !e.endsWith('.d.ts')) yield p;
  }
}

/** The package name of a bare specifier ('@scope/name/x' → '@scope/name'). */
const packageOf = (spec) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];

/** Imports of a source file: [specifier, typeOnly]. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    false,
    file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const out = [];
  for (const st of sf.statements) {
    if (
      (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) &&
      st.moduleSpecifier &&
      ts.isStringLiteral(st.moduleSpecifier)
    ) {
      let typeOnly = ts.isImportDeclaration(st) ? (st.importClause?.isTypeOnly ?? false) : st.isTypeOnly;
      if (ts.isImportDeclaration(st) && !typeOnly && st.importClause && !st.importClause.name) {
        const nb = st.importClause.namedBindings;
        if (nb && ts.isNamedImports(nb) && nb.elements.length > 0 && nb.elements.every((e) => e.isTypeOnly))
          typeOnly = true;
      }
      out.push([st.moduleSpecifier.text, typeOnly]);
    }
  }
  // dynamic import('x') with a literal
  const visit = (n) => {
    if (
      ts.isCallExpression(n) &&
      n.expression.kind === ts.SyntaxKind.ImportKeyword &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    ) {
      out.push([n.arguments[0].text, false]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Resolves a relative specifier the way NodeNext does for our sources ('./x.js' → ./x.ts|tsx). */
function resolveRelative(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const cand of [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.js$/, '.tsx'),
    base + '.ts',
    base + '.tsx',
    join(base, 'index.ts'),
  ]) {
    if (existsSync(cand) && statSync(cand).isFile()) return cand;
  }
  return null;
}

/** Finds cycles in a graph (Map node → Set of nodes): each reported once, as a path. */
function cycles(graph) {
  const found = [];
  const state = new Map(); // 1: on stack, 2: done
  const stack = [];
  const seen = new Set();
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) {
        const path = stack.slice(stack.indexOf(m)).concat(m);
        const key = [...path].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          found.push(path);
        }
      } else if (state.get(m) !== 2) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return found;
}

const pkgGraph = new Map();
for (const dirName of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', dirName);
  const pj = join(dir, 'package.json');
  if (!existsSync(pj) || !existsSync(join(dir, 'src'))) continue;
  const pkg = JSON.parse(readFileSync(pj, 'utf8'));
  const deps = new Set(Object.keys(pkg.dependencies ?? {}));
  const devDeps = new Set([
    ...Object.keys(pkg.devDependencies ?? {}),
    ...Object.keys(rootPkg.devDependencies ?? {}),
  ]);
  const peer = new Set(Object.keys(pkg.peerDependencies ?? {}));
  pkgGraph.set(pkg.name, new Set([...deps].filter((d) => d.startsWith('@suanli/'))));
  const modGraph = new Map();
  const files = [...walk(join(dir, 'src'))];
  const imports = new Map(files.map((f) => [f, importsOf(f)]));
  // what the entry point loads at run time (dist/X.js is built from src/X.ts)
  const bundled = /\bvite\b/.test(pkg.scripts?.build ?? '');
  const runtime = new Set();
  const entry =
    typeof pkg.main === 'string'
      ? resolveRelative(join(dir, 'src', 'x'), pkg.main.replace(/^\.\/dist\//, './'))
      : null;
  const reach = (f) => {
    if (runtime.has(f)) return;
    runtime.add(f);
    for (const [spec, typeOnly] of imports.get(f) ?? []) {
      if (!spec.startsWith('.') || typeOnly) continue;
      const t = resolveRelative(f, spec);
      if (t !== null) reach(t);
    }
  };
  if (entry !== null) reach(entry);
  for (const file of files) {
    const rel = relative(root, file);
    const testOnly = isTestOnly(relative(join(dir, 'src'), file));
    const needsDeps = runtime.has(file) || (!bundled && !testOnly);
    const edges = new Set();
    for (const [spec, typeOnly] of imports.get(file) ?? []) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (target === null) problems.push(`${rel}: cannot resolve ${spec}`);
        else if (!typeOnly) edges.add(relative(root, target));
        if (target !== null && !testOnly && isTestOnly(relative(join(dir, 'src'), target))) {
          problems.push(
            `${rel}: imports the test helper ${relative(root, target)} (test helpers stay out of shipped code)`,
          );
        }
        continue;
      }
      if (
        spec.startsWith('node:') ||
        builtins.has(spec) ||
        spec.startsWith('virtual:') ||
        spec.startsWith('/')
      )
        continue;
      const name = packageOf(spec);
      if (name === pkg.name) continue;
      const declared = deps.has(name) || peer.has(name) || (!needsDeps && devDeps.has(name));
      // a type-only import of a types package or of a package's types needs no runtime dependency
      const typesOnly =
        typeOnly && (devDeps.has(name) || devDeps.has(`@types/${name.replace(/^@/, '').replace('/', '__')}`));
      if (!declared && !typesOnly) {
        problems.push(
          `${rel}: imports ${name}, which ${pkg.name}'s package.json does not declare${devDeps.has(name) ? ' in dependencies (only devDependencies)' : ''}`,
        );
      }
    }
    modGraph.set(rel, edges);
  }
  for (const c of cycles(modGraph)) problems.push(`${pkg.name}: import cycle ${c.join(' → ')}`);
}
for (const c of cycles(pkgGraph)) problems.push(`package dependency cycle ${c.join(' → ')}`);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`check-imports: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('check-imports: no undeclared dependencies, no import cycles');
