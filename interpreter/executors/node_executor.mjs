#!/usr/bin/env node
// sandboxd JavaScript / TypeScript code-interpreter executor.
//
//   node node_executor.mjs                 -> language "javascript"
//   node node_executor.mjs --typescript    -> language "typescript"
//
// One process per code context, one persistent node:vm context per process.
// Protocol (line-delimited JSON, UTF-8):
//   fd 3 <- commands: {"type":"configure","cwd":..,"env":{..}}
//                     {"type":"execute","id":..,"code":..}
//                     {"type":"shutdown"}            (EOF on fd 3 also exits 0)
//   fd 4 -> events:   {"type":"ready","language":..,"pid":..}
//                     {"type":"configured"[,"error":..]}
//                     {"type":"result","id":..,"data":{mime: value},"metadata":{}}
//                     {"type":"error","id":..,"ename":..,"evalue":..,"traceback":[..]}
//                     {"type":"done","id":..,"success":bool,"execution_count":n}
// fd 1 / fd 2 are the user's stdout / stderr; the context's console writes to
// them synchronously, so every byte is in the pipe before `done` is written.
//
// Cell semantics (see README.md next to this file for the details/limits):
//  * each cell is parsed with acorn and lightly rewritten so that top-level
//    declarations (var/let/const/function/class/import) become global `var`
//    bindings: they persist across cells and can be re-declared by a later
//    cell (re-running a cell never fails with "already declared");
//  * a cell containing top-level `await` runs as an async arrow function whose
//    last expression statement is returned; a thenable result is awaited;
//  * TypeScript cells are transpiled with ts.transpileModule first (types are
//    stripped, no type checking).

import childProcess from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import util from 'node:util';
import vm from 'node:vm';
import { Console } from 'node:console';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const STARTED = process.hrtime.bigint();
const CMD_FD = 3;
const EVT_FD = 4;
const LANGUAGE = process.argv.includes('--typescript') ? 'typescript' : 'javascript';
const SELF_FILE = fileURLToPath(import.meta.url);
const selfRequire = createRequire(import.meta.url);

// vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER (dynamic import() inside the
// context) prints an ExperimentalWarning on first use; that is not the user's.
const origEmitWarning = process.emitWarning.bind(process);
process.emitWarning = function emitWarning(warning, ...rest) {
  const msg = typeof warning === 'string' ? warning : warning?.message;
  if (typeof msg === 'string' && msg.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
  return origEmitWarning(warning, ...rest);
};

const acorn = selfRequire('acorn');
let ts = null;
if (LANGUAGE === 'typescript') {
  try {
    ts = selfRequire('typescript');
  } catch (err) {
    fs.writeSync(2, `node_executor: cannot load the "typescript" package (run npm ci in ${path.dirname(SELF_FILE)}): ${err.message}\n`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------
// Low-level synchronous output
// ---------------------------------------------------------------------------

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function writeAllSync(fd, data) {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if (err.code === 'EAGAIN' || err.code === 'EINTR') {
        Atomics.wait(sleepCell, 0, 0, 1); // non-blocking fd whose pipe is full
        continue;
      }
      throw err;
    }
  }
}

function encodeEvent(event) {
  try {
    return JSON.stringify(event);
  } catch {
    return JSON.stringify({ ...event, data: { 'text/plain': '<unserialisable result>' } });
  }
}

// Several events go out in one write: one wake-up of the daemon, not one each.
function emit(...events) {
  writeGathered(); // what was printed before an event stays before it
  let text = '';
  for (const event of events) text += `${encodeEvent(event)}\n`;
  try {
    writeAllSync(EVT_FD, text);
  } catch (err) {
    // The daemon went away: nothing left to do.
    process.exit(err.code === 'EPIPE' ? 0 : 1);
  }
}

// What user code prints in a tight loop is gathered and written with one
// write per 64 KiB, or once it has waited 2 ms, instead of one write per call:
// such a loop costs a write per buffer, not per line. Prints gather only in
// a tight loop (after 32 in a row, each within 0.2 ms of the one before); any
// other print goes out at once. There is no thread to write what a loop gathered last
// while synchronous code runs on after it: a timer does it when the code
// yields, and the end of the run, an interrupt or an exit do it at the latest.
// Only one stream gathers at a time (printing to the other writes it first),
// and it is written before an event and before a child process starts, so the
// order of everything is kept.
const GATHER_BYTES = 1 << 16;
const GATHER_MS = 2;
const TIGHT_MS = 0.2;
const TIGHT_STREAK = 32;
let streak = 0; // prints in a row each within TIGHT_MS of the one before
let lastPrint = -Infinity;
let gatheredFd = 0; // 1 or 2 while text is gathered
let gathered = '';
let gatheredSince = 0;
let gatherTimer = null;

function writeOut(fd, data) {
  try {
    writeAllSync(fd, data);
  } catch {
    /* reader closed: drop, like a SIGPIPE-ignoring process would */
  }
}

function writeGathered() {
  if (!gatheredFd) return;
  const fd = gatheredFd;
  const text = gathered;
  gatheredFd = 0;
  gathered = '';
  writeOut(fd, text);
}

function onGatherTimer() {
  gatherTimer = null;
  writeGathered();
}

function writeUser(fd, chunk, encoding) {
  if (gatheredFd && gatheredFd !== fd) writeGathered();
  if (typeof chunk !== 'string' || (typeof encoding === 'string' && !/^utf-?8$/i.test(encoding))) {
    writeGathered();
    writeOut(fd, typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    return;
  }
  const now = performance.now();
  streak = now - lastPrint < TIGHT_MS ? streak + 1 : 0;
  lastPrint = now;
  if (!gatheredFd && streak < TIGHT_STREAK) {
    writeOut(fd, chunk);
    return;
  }
  if (!gatheredFd) {
    gatheredFd = fd;
    gatheredSince = now;
    if (!gatherTimer) {
      gatherTimer = setTimeout(onGatherTimer, GATHER_MS);
      gatherTimer.unref();
    }
  }
  gathered += chunk;
  if (gathered.length >= GATHER_BYTES || now - gatheredSince >= GATHER_MS) writeGathered();
}

// A stateless stand-in for a Writable: vm's breakOnSigint terminates JS
// execution wherever it is, and a real stream.Writable interrupted inside its
// write bookkeeping stays stuck in "writing" and buffers forever afterwards.
// (Console only calls write() when constructed with ignoreErrors: false.)
function userStream(fd) {
  return {
    fd,
    isTTY: false,
    write(chunk, encoding, cb) {
      writeUser(fd, chunk, encoding);
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') process.nextTick(done, null); // streams call back asynchronously
      return true;
    },
  };
}

// Programs started from user code write straight to fds 1 and 2: what was
// printed before them goes first.
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = childProcess[name];
  childProcess[name] = function startWithOutputWritten(...args) {
    writeGathered();
    return original.apply(this, args);
  };
}
process.on('exit', writeGathered);

// ANSI escape sequences (CSI, OSC, two-byte escapes).
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;
const stripAnsi = (s) => String(s).replace(ANSI_RE, '');

// ---------------------------------------------------------------------------
// The persistent context
// ---------------------------------------------------------------------------

const sandbox = {};
const context = vm.createContext(sandbox, { name: `sandboxd ${LANGUAGE}` });
const contextGlobal = vm.runInContext('globalThis', context);
const contextOwn = new Set(vm.runInContext('Object.getOwnPropertyNames(globalThis)', context));

// Node-specific globals the bare V8 context lacks (process, Buffer, URL,
// TextEncoder/TextDecoder, fetch, structuredClone, AbortController, atob,
// performance, crypto, ...). Accessors stay lazy by forwarding to the host.
for (const name of Object.getOwnPropertyNames(globalThis)) {
  if (contextOwn.has(name) || name === 'global' || name === 'globalThis') continue;
  const desc = Object.getOwnPropertyDescriptor(globalThis, name);
  if (!desc) continue;
  if ('value' in desc) {
    sandbox[name] = desc.value;
  } else {
    Object.defineProperty(sandbox, name, {
      configurable: true,
      enumerable: desc.enumerable,
      get: () => globalThis[name],
      set: (v) => Object.defineProperty(sandbox, name, { value: v, writable: true, configurable: true, enumerable: true }),
    });
  }
}

// process.stdout/stderr as seen by user code: the same stateless synchronous
// writes (bytes are in the pipe before `done`; an interrupt cannot wedge them).
for (const [stream, fd] of [[process.stdout, 1], [process.stderr, 2]]) {
  const sync = userStream(fd);
  try {
    Object.defineProperty(stream, 'write', { value: sync.write, writable: true, configurable: true });
  } catch {
    /* leave Node's own stream in place */
  }
}

const userConsole = new Console({ stdout: userStream(1), stderr: userStream(2), colorMode: false, ignoreErrors: false });
sandbox.console = userConsole;
sandbox.global = contextGlobal;
sandbox.process = process;
sandbox.Buffer = Buffer;

// require() resolves relative to the executor's current working directory
// (as it is when require() is called), like a script living in the cwd.
let requireCacheEntry = { dir: null, req: null };
function currentRequire() {
  let dir;
  try {
    dir = process.cwd();
  } catch {
    dir = '/';
  }
  if (requireCacheEntry.dir !== dir) {
    requireCacheEntry = { dir, req: createRequire(path.join(dir, '[sandbox-cell].js')) };
  }
  return requireCacheEntry.req;
}
function require(id) {
  return currentRequire()(id);
}
require.resolve = function resolve(id, options) {
  return currentRequire().resolve(id, options);
};
require.resolve.paths = function paths(id) {
  return currentRequire().resolve.paths(id);
};
require.cache = selfRequire.cache;
sandbox.require = require;
const userModule = { exports: {}, id: '.', loaded: true, children: [], paths: [] };
sandbox.module = userModule;
sandbox.exports = userModule.exports;
Object.defineProperty(sandbox, '__dirname', {
  configurable: true,
  enumerable: false,
  get: () => currentRequire() && requireCacheEntry.dir,
  set: (v) => Object.defineProperty(sandbox, '__dirname', { value: v, writable: true, configurable: true }),
});
Object.defineProperty(sandbox, '__filename', {
  configurable: true,
  enumerable: false,
  get: () => path.join(currentRequire() && requireCacheEntry.dir, '[sandbox-cell].js'),
  set: (v) => Object.defineProperty(sandbox, '__filename', { value: v, writable: true, configurable: true }),
});

// Timers: the context's timer functions remember which run created a timer so
// that an interrupted run's pending timers can be cancelled.
let activeRun = null;
function trackedTimer(create, clear) {
  const wrapper = function (fn, ...rest) {
    const run = activeRun;
    if (!run || typeof fn !== 'function') return create(fn, ...rest);
    let handle;
    const isInterval = create === setInterval;
    const cb = function (...args) {
      if (!isInterval) run.timers.delete(handle);
      return fn.apply(this, args);
    };
    handle = create(cb, ...rest);
    run.timers.set(handle, clear);
    return handle;
  };
  Object.defineProperty(wrapper, 'name', { value: create.name });
  if (create[util.promisify.custom]) wrapper[util.promisify.custom] = create[util.promisify.custom];
  return wrapper;
}
sandbox.setTimeout = trackedTimer(setTimeout, clearTimeout);
sandbox.setInterval = trackedTimer(setInterval, clearInterval);
sandbox.setImmediate = trackedTimer(setImmediate, clearImmediate);
sandbox.clearTimeout = clearTimeout;
sandbox.clearInterval = clearInterval;
sandbox.clearImmediate = clearImmediate;

// Helpers used by rewritten import declarations (non-enumerable).
function importDefault(mod) {
  if (mod && (mod.__esModule || util.types.isModuleNamespaceObject(mod)) && 'default' in mod) return mod.default;
  return mod;
}
Object.defineProperty(sandbox, '__sandboxd', {
  value: Object.freeze({ require: (id) => require(id), importDefault }),
  enumerable: false,
  configurable: false,
  writable: false,
});

// ---------------------------------------------------------------------------
// Cell rewriting
// ---------------------------------------------------------------------------

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

function parseCell(code) {
  const opts = { ecmaVersion: 'latest', allowAwaitOutsideFunction: true, allowReturnOutsideFunction: false, allowHashBang: true };
  try {
    return acorn.parse(code, { ...opts, sourceType: 'script' });
  } catch (err) {
    if (/'import' and 'export' may appear only with 'sourceType: module'/.test(err.message)) {
      return acorn.parse(code, { ...opts, sourceType: 'module' });
    }
    throw err;
  }
}

// Visit every node of `node` that belongs to the same function scope (does
// not descend into nested functions or class bodies). visit(node, parent, key)
// returns false to skip the node's children.
function walkScope(node, visit, parent = null, key = null) {
  if (!node || typeof node.type !== 'string') return;
  if (visit(node, parent, key) === false) return;
  for (const k of Object.keys(node)) {
    const child = node[k];
    const kids = Array.isArray(child) ? child : [child];
    for (const c of kids) {
      if (c && typeof c.type === 'string' && !FUNCTION_TYPES.has(c.type) && c.type !== 'ClassBody') {
        walkScope(c, visit, node, k);
      }
    }
  }
}

function hasTopLevelAwait(ast) {
  let found = false;
  for (const stmt of ast.body) {
    walkScope(stmt, (n) => {
      if (found) return false;
      if (n.type === 'AwaitExpression' || (n.type === 'ForOfStatement' && n.await)) found = true;
      return !found;
    });
    if (found) break;
  }
  return found;
}

function patternNames(node, out) {
  if (!node) return out;
  switch (node.type) {
    case 'Identifier':
      out.push(node.name);
      break;
    case 'ObjectPattern':
      for (const p of node.properties) patternNames(p.type === 'RestElement' ? p.argument : p.value, out);
      break;
    case 'ArrayPattern':
      for (const e of node.elements) patternNames(e, out);
      break;
    case 'AssignmentPattern':
      patternNames(node.left, out);
      break;
    case 'RestElement':
      patternNames(node.argument, out);
      break;
    default:
      break;
  }
  return out;
}

// Every rewrite starts at one of these words (a declaration that is not a
// plain `var`/`function`, an import or export, or a top-level await).
const REWRITE_WORDS = /\b(?:let|const|class|import|export|await)\b/;

/**
 * Rewrite a cell so that its top-level bindings are global `var`s.
 * Returns { code, isAsync } or null when acorn cannot parse the cell (the
 * caller then compiles the original text so V8 reports the syntax error).
 */
function rewriteCell(code) {
  // Without these words there is nothing to rewrite (no edits, not async):
  // skip the parse.
  if (!REWRITE_WORDS.test(code)) return { code, isAsync: false };
  let ast;
  try {
    ast = parseCell(code);
  } catch {
    return null;
  }
  const isAsync = hasTopLevelAwait(ast);
  const src = (n) => code.slice(n.start, n.end);
  const edits = []; // { start, end, text }
  const hoisted = new Set();
  const movedFunctions = []; // async mode: function declarations, emitted first
  const replace = (start, end, text) => edits.push({ start, end, text });

  const declAssignments = (decl) => {
    const parts = [];
    for (const d of decl.declarations) {
      for (const name of patternNames(d.id, [])) hoisted.add(name);
      if (d.init) parts.push(`(${src(d.id)} = (${src(d.init)}))`);
      else if (decl.kind !== 'var') parts.push(`(${src(d.id)} = undefined)`);
    }
    return parts;
  };
  const declStatement = (decl, start, end) => {
    const parts = declAssignments(decl);
    replace(start, end, parts.length ? `void (${parts.join(', ')});` : ';');
  };
  const classStatement = (cls, start, end) => {
    hoisted.add(cls.id.name);
    replace(start, end, `void (${cls.id.name} = ${src(cls)});`);
  };
  const functionStatement = (fn, start, end) => {
    if (isAsync) {
      hoisted.add(fn.id.name);
      movedFunctions.push(`${fn.id.name} = ${src(fn)};`);
      replace(start, end, '');
    } else if (start !== fn.start) {
      replace(start, fn.start, ''); // drop `export ` / `export default `
    }
  };
  const importStatement = (imp) => {
    const from = `__sandboxd.require(${JSON.stringify(imp.source.value)})`;
    if (!imp.specifiers.length) {
      replace(imp.start, imp.end, `${from};`);
      return;
    }
    const parts = [];
    const tmp = `__sandboxd_import_${imp.start}`;
    hoisted.add(tmp);
    parts.push(`(${tmp} = ${from})`);
    for (const s of imp.specifiers) {
      hoisted.add(s.local.name);
      if (s.type === 'ImportDefaultSpecifier') parts.push(`(${s.local.name} = __sandboxd.importDefault(${tmp}))`);
      else if (s.type === 'ImportNamespaceSpecifier') parts.push(`(${s.local.name} = ${tmp})`);
      else {
        const imported = s.imported.type === 'Identifier' ? s.imported.name : s.imported.value;
        parts.push(
          imported === 'default'
            ? `(${s.local.name} = __sandboxd.importDefault(${tmp}))`
            : `(${s.local.name} = ${tmp}[${JSON.stringify(imported)}])`,
        );
      }
    }
    parts.push(`(${tmp} = undefined)`);
    replace(imp.start, imp.end, `void (${parts.join(', ')});`);
  };

  const handleDeclaration = (decl, start, end) => {
    if (decl.type === 'VariableDeclaration') {
      if (decl.kind !== 'var' || isAsync) declStatement(decl, start, end);
      else if (start !== decl.start) replace(start, decl.start, '');
    } else if (decl.type === 'ClassDeclaration' && decl.id) {
      classStatement(decl, start, end);
    } else if (decl.type === 'FunctionDeclaration' && decl.id) {
      functionStatement(decl, start, end);
    }
  };

  // Nested `var`s belong to the top-level scope too; in async mode they would
  // otherwise become locals of the wrapper function.
  const hoistNestedVars = (stmt) => {
    walkScope(stmt, (n, parent, key) => {
      if (n.type !== 'VariableDeclaration' || n.kind !== 'var') return true;
      if (parent && parent.type === 'ForStatement' && key === 'init') {
        replace(n.start, n.end, declAssignments(n).join(', '));
      } else if (parent && (parent.type === 'ForInStatement' || parent.type === 'ForOfStatement') && key === 'left') {
        const d = n.declarations[0];
        for (const name of patternNames(d.id, [])) hoisted.add(name);
        replace(n.start, n.end, src(d.id));
      } else {
        declStatement(n, n.start, n.end);
      }
      return false; // initialisers are expressions: no further declarations
    });
  };

  const body = ast.body;
  for (const stmt of body) {
    switch (stmt.type) {
      case 'VariableDeclaration':
      case 'ClassDeclaration':
      case 'FunctionDeclaration':
        handleDeclaration(stmt, stmt.start, stmt.end);
        break;
      case 'ImportDeclaration':
        importStatement(stmt);
        break;
      case 'ExportNamedDeclaration':
        if (stmt.declaration) handleDeclaration(stmt.declaration, stmt.start, stmt.end);
        else replace(stmt.start, stmt.end, ';');
        break;
      case 'ExportDefaultDeclaration': {
        const d = stmt.declaration;
        if ((d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration') && d.id) handleDeclaration(d, stmt.start, stmt.end);
        else replace(stmt.start, stmt.end, `(${src(d)});`);
        break;
      }
      case 'ExportAllDeclaration':
        replace(stmt.start, stmt.end, ';');
        break;
      default:
        if (isAsync) hoistNestedVars(stmt);
        break;
    }
  }

  // Async mode: the last expression statement becomes the return value.
  let directivesEnd = 0;
  for (const stmt of body) {
    if (stmt.type === 'ExpressionStatement' && stmt.directive !== undefined) directivesEnd = stmt.end;
    else break;
  }
  if (isAsync && body.length) {
    const last = body[body.length - 1];
    if (last.type === 'ExpressionStatement' && last.directive === undefined) {
      replace(last.start, last.end, `return (${src(last.expression)});`);
    }
  }

  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let pos = 0;
  const insertAt = isAsync && movedFunctions.length ? directivesEnd : -1;
  if (insertAt === 0) out += movedFunctions.join(' ');
  for (const e of edits) {
    if (e.start < pos) return null; // overlapping edits: give up, run natively
    if (insertAt > 0 && pos <= insertAt && insertAt <= e.start) {
      out += code.slice(pos, insertAt) + movedFunctions.join(' ');
      pos = insertAt;
    }
    out += code.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  if (insertAt > 0 && pos <= insertAt) {
    out += code.slice(pos, insertAt) + movedFunctions.join(' ');
    pos = insertAt;
  }
  out += code.slice(pos);

  const names = [...hoisted];
  if (isAsync) {
    // Same first line as the user's code so line numbers stay right.
    out = `${names.length ? `var ${names.join(', ')}; ` : ''}(async () => {${out}\n})()`;
  } else if (names.length) {
    out += `\n;var ${names.join(', ')};`;
  }
  return { code: out, isAsync };
}

// ---------------------------------------------------------------------------
// TypeScript
// ---------------------------------------------------------------------------

class TypeScriptError extends Error {
  constructor(message, lines) {
    super(message);
    this.name = 'TypeScriptError';
    this.lines = lines;
  }
}

const TS_OPTIONS = ts && {
  target: ts.ScriptTarget.ES2022,
  // Keep import/export syntax (rewritten by rewriteCell into require()-based
  // global bindings), and keep every non-type import even when unused in the
  // cell: a later cell may use it.
  module: ts.ModuleKind.ESNext,
  verbatimModuleSyntax: true,
  esModuleInterop: true,
  experimentalDecorators: false,
  useDefineForClassFields: true,
  sourceMap: false,
  inlineSourceMap: false,
  removeComments: false,
  newLine: ts.NewLineKind.LineFeed,
};

// `import fs = require("fs")` would be dropped under module ESNext: turn it
// into `const fs = require("fs")` before TypeScript's own transforms run.
function importEqualsToRequire(context) {
  const f = context.factory;
  return (sourceFile) => {
    let changed = false;
    const statements = sourceFile.statements.map((st) => {
      if (ts.isImportEqualsDeclaration(st) && !st.isTypeOnly && ts.isExternalModuleReference(st.moduleReference)) {
        changed = true;
        const call = f.createCallExpression(f.createIdentifier('require'), undefined, [st.moduleReference.expression]);
        return f.createVariableStatement(
          undefined,
          f.createVariableDeclarationList([f.createVariableDeclaration(st.name, undefined, undefined, call)], ts.NodeFlags.Const),
        );
      }
      return st;
    });
    return changed ? f.updateSourceFile(sourceFile, statements) : sourceFile;
  };
}

function transpileTypeScript(code, count) {
  const out = ts.transpileModule(code, {
    compilerOptions: TS_OPTIONS,
    fileName: `cell-${count}.ts`,
    reportDiagnostics: true,
    transformers: { before: [importEqualsToRequire] },
  });
  const errors = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const lines = errors.map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (d.file && d.start !== undefined) {
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        return `<cell-${count}>:${line + 1}:${character + 1} - error TS${d.code}: ${text}`;
      }
      return `error TS${d.code}: ${text}`;
    });
    const first = errors[0];
    throw new TypeScriptError(ts.flattenDiagnosticMessageText(first.messageText, '\n'), lines);
  }
  return out.outputText;
}

function looksLikeObjectLiteral(code) {
  return /^\s*\{/.test(code) && /\}\s*;?\s*$/.test(code);
}

function transpileCell(source, count) {
  if (looksLikeObjectLiteral(source)) {
    // `{ a: 1 }` is an object literal (REPL rule); TypeScript would otherwise
    // turn it into a block with a label before the JS-side check sees it.
    try {
      return transpileTypeScript(`(${source.replace(/;\s*$/, '')}\n)`, count);
    } catch {
      /* not an expression: a real block */
    }
  }
  return transpileTypeScript(source, count);
}

// ---------------------------------------------------------------------------
// Results and errors
// ---------------------------------------------------------------------------

const inspect = (v) => util.inspect(v, { colors: false });

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  if (proto === null) return true;
  return Object.getPrototypeOf(proto) === null && typeof proto.constructor === 'function' && proto.constructor.name === 'Object';
}

function resultBundle(value) {
  if (value === undefined) return null;
  if (typeof value === 'string') return { 'text/plain': value };
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return { 'text/plain': inspect(value) };
  let text = inspect(value);
  if (util.types.isNativeError(value)) text = cleanStack(text).join('\n');
  const data = { 'text/plain': text };
  if (typeof value === 'object' && (Array.isArray(value) || isPlainObject(value))) {
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) data['application/json'] = JSON.parse(json);
    } catch {
      /* circular / BigInt: text only */
    }
  }
  return data;
}

function safeString(v) {
  try {
    return String(v);
  } catch {
    try {
      return inspect(v);
    } catch {
      return '<unprintable value>';
    }
  }
}

const INTERNAL_FRAME_RE = /\((?:node:|internal\/)|^\s*at (?:node:|internal\/)|at new Script \(|at Script\.runInContext|at runInContext|at new ContextifyScript/;

function cleanStack(stack) {
  const self = [SELF_FILE, `file://${SELF_FILE}`];
  const lines = stripAnsi(stack).split('\n');
  const out = [];
  for (const line of lines) {
    if (/^\s+at /.test(line) && (INTERNAL_FRAME_RE.test(line) || self.some((f) => line.includes(f)))) continue;
    out.push(line);
  }
  while (out.length && !out[out.length - 1].trim()) out.pop();
  return out;
}

function describeError(err) {
  if (err instanceof TypeScriptError) {
    return { ename: 'TypeScriptError', evalue: err.message, traceback: err.lines };
  }
  if (err && err.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') {
    return { ename: 'Interrupted', evalue: 'Script execution was interrupted by SIGINT', traceback: [] };
  }
  if (err && err.__sandboxdInterrupt) {
    return { ename: 'Interrupted', evalue: 'Execution was interrupted by SIGINT while awaiting', traceback: [] };
  }
  const isErrorLike =
    util.types.isNativeError(err) ||
    (err !== null && typeof err === 'object' && typeof err.message === 'string' && typeof err.stack === 'string');
  if (isErrorLike) {
    let ename = 'Error';
    let evalue = '';
    let stack = '';
    try {
      ename = err.name ? safeString(err.name) : err.constructor?.name || 'Error';
    } catch { /* keep default */ }
    try {
      evalue = safeString(err.message ?? '');
    } catch { /* keep default */ }
    try {
      stack = typeof err.stack === 'string' ? err.stack : `${ename}: ${evalue}`;
    } catch {
      stack = `${ename}: ${evalue}`;
    }
    return { ename: stripAnsi(ename), evalue: stripAnsi(evalue), traceback: cleanStack(stack) };
  }
  let shown;
  try {
    shown = inspect(err);
  } catch {
    shown = safeString(err);
  }
  return { ename: 'Error', evalue: stripAnsi(safeString(err)), traceback: [`Uncaught ${stripAnsi(shown)}`] };
}

// ---------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------

let executionCount = 0;
const importModuleDynamically = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;

function compile(code, filename) {
  const options = { filename };
  if (importModuleDynamically) options.importModuleDynamically = importModuleDynamically;
  return new vm.Script(code, options);
}

function prepare(source, count) {
  const filename = `<cell-${count}>`;
  let code = source;
  if (code.startsWith('#!')) code = `//${code.slice(2)}`;
  // Like Node's REPL: a cell that is just `{ ... }` is an object literal,
  // not a block.
  if (looksLikeObjectLiteral(code)) {
    const wrapped = `(${code.replace(/;\s*$/, '')}\n)`;
    try {
      const ast = acorn.parse(wrapped, { ecmaVersion: 'latest', sourceType: 'script' });
      if (ast.body.length === 1 && ast.body[0].type === 'ExpressionStatement') code = wrapped;
    } catch {
      /* a real block */
    }
  }
  const rewritten = rewriteCell(code);
  if (rewritten) {
    try {
      return { script: compile(rewritten.code, filename), isAsync: rewritten.isAsync };
    } catch {
      /* rewriting produced something V8 rejects: fall back to the original */
    }
  }
  // Unparseable by acorn (or rewrite failed): let V8 have the final word.
  return { script: compile(code, filename), isAsync: false };
}

function isThenable(v) {
  try {
    return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// SIGINT
// ---------------------------------------------------------------------------
//
// breakOnSigint starts Node's SIGINT watchdog (a helper thread that takes
// over the SIGINT handler) for each runInContext and joins it afterwards:
// about 100 µs per run, more than a small cell takes. Holding the watchdog
// for the executor's lifetime turns that into a counter update. While it is
// held, a SIGINT outside runInContext only sets the watchdog's pending flag
// (no process.on('SIGINT') listener runs): a run that awaits polls it. If
// user code listens for SIGINT (libuv then takes the signal back), the
// executor lets go of the watchdog and listens too, like Node's REPL.

const SIGINT_POLL_MS = 10;
let sigintWatchdog = holdSigintWatchdog(); // contextify's functions while held

function onSigint() {
  // Idle: ignored. While awaiting an async cell: abandon it.
  const run = activeRun;
  if (run && run.interrupt && !run.interrupted) {
    run.interrupted = true;
    run.interrupt();
  }
}

function holdSigintWatchdog() {
  if (process.listenerCount('SIGINT') > 0) return null;
  let binding;
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {}; // process.binding's deprecation (--pending-deprecation)
  try {
    binding = process.binding('contextify');
  } catch {
    return null;
  } finally {
    process.emitWarning = emitWarning;
  }
  const fns = ['startSigintWatchdog', 'stopSigintWatchdog', 'watchdogHasPendingSigint'];
  if (!binding || !fns.every((f) => typeof binding[f] === 'function')) return null;
  return binding.startSigintWatchdog() ? binding : null;
}

// The watchdog's pending flag resets when a second holder lets go.
function clearPendingSigint() {
  if (sigintWatchdog.startSigintWatchdog()) sigintWatchdog.stopSigintWatchdog();
}

// Stopping the watchdog resets the SIGINT handler to Node's default (exit),
// also when libuv had taken it over for a listener that user code added
// meanwhile: attaching the listeners again makes libuv install its handler.
function reattachSigintListeners() {
  const listeners = process.rawListeners('SIGINT');
  process.removeAllListeners('SIGINT');
  for (const listener of listeners) process.on('SIGINT', listener);
}

// Back to listening for SIGINT, as breakOnSigint expects.
function releaseSigintWatchdog() {
  if (!sigintWatchdog) return;
  sigintWatchdog.stopSigintWatchdog();
  sigintWatchdog = null;
  process.on('SIGINT', onSigint);
  reattachSigintListeners();
}

function checkSigint() {
  if (!sigintWatchdog) return;
  if (process.listenerCount('SIGINT') > 0) {
    releaseSigintWatchdog();
  } else if (sigintWatchdog.watchdogHasPendingSigint()) {
    clearPendingSigint();
    onSigint();
  }
}

if (!sigintWatchdog) process.on('SIGINT', onSigint);

function awaitInterruptible(run, value) {
  return new Promise((resolve, reject) => {
    const poll = sigintWatchdog ? setInterval(checkSigint, SIGINT_POLL_MS) : null;
    const settle = (fn) => (v) => {
      if (poll) clearInterval(poll);
      fn(v);
    };
    run.interrupt = () => {
      const err = new Error('interrupted');
      err.__sandboxdInterrupt = true;
      settle(reject)(err);
    };
    Promise.resolve(value).then(settle(resolve), settle(reject));
  });
}

async function execute(msg) {
  const id = msg.id;
  const count = ++executionCount;
  const source = typeof msg.code === 'string' ? msg.code : msg.code == null ? '' : String(msg.code);
  const run = { id, timers: new Map(), interrupt: null, interrupted: false }; // timers: handle -> clear fn
  let success = true;
  let last = null; // the result or error event, written together with done
  activeRun = run;
  if (sigintWatchdog) {
    if (process.listenerCount('SIGINT') > 0) releaseSigintWatchdog();
    else clearPendingSigint(); // a SIGINT from while idle is not for this run
  }
  try {
    const js = LANGUAGE === 'typescript' ? transpileCell(source, count) : source;
    const { script, isAsync } = prepare(js, count);
    let value = script.runInContext(context, { breakOnSigint: true, displayErrors: true });
    if (isAsync || isThenable(value)) value = await awaitInterruptible(run, value);
    const data = resultBundle(value);
    if (data) last = { type: 'result', id, data, metadata: {} };
  } catch (err) {
    success = false;
    if (err && err.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') run.interrupted = true;
    let described;
    try {
      described = describeError(err);
    } catch {
      described = { ename: 'Error', evalue: 'unprintable error', traceback: [] };
    }
    last = { type: 'error', id, ...described };
  } finally {
    if (activeRun === run) activeRun = null;
    if (run.interrupted) {
      for (const [handle, clear] of run.timers) clear(handle);
    }
    run.timers.clear();
    if (sigintWatchdog) {
      if (process.listenerCount('SIGINT') > 0) releaseSigintWatchdog();
    } else if (process.listeners('SIGINT').some((l) => l !== onSigint)) {
      reattachSigintListeners();
    }
  }
  const done = { type: 'done', id, success, execution_count: count };
  if (last) emit(last, done);
  else emit(done);
}

function configure(msg) {
  let error = null;
  if (msg.env && typeof msg.env === 'object') {
    for (const [k, v] of Object.entries(msg.env)) {
      if (v === null || v === undefined) delete process.env[k];
      else process.env[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  if (typeof msg.cwd === 'string' && msg.cwd) {
    try {
      process.chdir(msg.cwd);
    } catch (err) {
      error = `chdir ${msg.cwd}: ${err.code || err.message}`;
    }
  }
  emit(error ? { type: 'configured', error } : { type: 'configured' });
}

// Errors from callbacks that fire outside a run must not kill the executor:
// report them on the user's stderr like Node's REPL does.
function formatUncaught(prefix, err) {
  let text;
  try {
    if (util.types.isNativeError(err) && typeof err.stack === 'string') text = cleanStack(err.stack).join('\n');
    else text = util.inspect(err, { colors: false });
  } catch {
    text = safeString(err);
  }
  return `${prefix} ${stripAnsi(text)}\n`;
}
process.on('uncaughtException', (err) => {
  try {
    writeUser(2, formatUncaught('Uncaught', err));
  } catch { /* ignore */ }
});
process.on('unhandledRejection', (reason) => {
  try {
    writeUser(2, formatUncaught('Uncaught (in promise)', reason));
  } catch { /* ignore */ }
});

// ---------------------------------------------------------------------------
// Command loop
// ---------------------------------------------------------------------------

let queue = Promise.resolve();

function handleLine(line) {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    writeUser(2, 'node_executor: bad command line ignored\n');
    return;
  }
  if (!msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'execute':
      queue = queue.then(() => execute(msg)).catch(() => {});
      break;
    case 'configure':
      queue = queue.then(() => configure(msg)).catch(() => {});
      break;
    case 'shutdown':
      queue = queue.then(() => process.exit(0));
      break;
    default:
      writeUser(2, `node_executor: unknown command ${JSON.stringify(msg.type)} ignored\n`);
  }
}

function openCommandStream() {
  // A pipe/socket is read through libuv's event loop (net.Socket). A blocking
  // fs read would sit in a thread-pool thread, and process.exit() waits for
  // those threads: `shutdown` would hang until the daemon closed fd 3.
  try {
    return new net.Socket({ fd: CMD_FD, readable: true, writable: false, allowHalfOpen: true });
  } catch {
    // A regular file or character device (manual testing: `3<commands.jsonl`).
    return fs.createReadStream(null, { fd: CMD_FD, autoClose: false, highWaterMark: 1 << 16 });
  }
}

function startCommandReader() {
  const input = openCommandStream();
  let pending = '';
  input.setEncoding('utf8');
  input.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      handleLine(line);
    }
  });
  input.on('end', () => {
    if (pending.trim()) handleLine(pending);
    process.exit(0);
  });
  input.on('error', () => process.exit(0));
}

if (ts) {
  // Warm the compiler up so that the first cell is not slow.
  transpileTypeScript('const __warm: number = 1; interface __W { a: string }', 0);
}

emit({ type: 'ready', language: LANGUAGE, pid: process.pid });
if (process.env.SANDBOXD_EXECUTOR_DEBUG) {
  writeAllSync(2, `node_executor: ready in ${Number(process.hrtime.bigint() - STARTED) / 1e6} ms\n`);
}
startCommandReader();
