#!/usr/bin/env node
// Offline validation of the ARM templates `exoflow synth` writes, against the schema subset in
// tests/synth/arm-schemas (JSON Schema draft-04, validated with ajv-draft-04 + ajv-formats from
// tests/synth/node_modules, installed by scripts/setup).
//
//   node validate_arm.js [--schemas DIR] FILE...             every file must pass
//   node validate_arm.js [--schemas DIR] --expect-invalid FILE...
//        every file must fail with at least the errors listed in its
//        metadata.expectedErrors (substrings); proves that the checks can fail
//
// Per template (and per template nested in a Microsoft.Resources/deployments resource):
//   1. the template against the root schema its $schema names (resource group or subscription);
//   2. each resource against resourceBase and against the definition of its own type and
//      apiVersion; a type or apiVersion missing from the subset is an error;
//   3. strict: every object key, at any depth, must be declared by the schema (the upstream
//      schemas never forbid unknown keys, so plain JSON Schema would accept a misspelt one);
//   4. semantics: every resourceId(), reference() and dependsOn names a resource of the
//      template (or a named part of one, such as a subnet of its virtual network), every
//      parameters() and variables() is declared, every parameter is used.
// Exit status: 0 as expected, 1 otherwise, 2 on bad usage or a broken installation.
'use strict';
const fs = require('fs');
const path = require('path');

let Ajv;
let addFormats;
try {
  const here = { paths: [__dirname] };
  Ajv = require(require.resolve('ajv-draft-04', here));
  Ajv = Ajv.default || Ajv;
  addFormats = require(require.resolve('ajv-formats', here));
  addFormats = addFormats.default || addFormats;
} catch (e) {
  console.error(`validate_arm: ajv-draft-04 and ajv-formats are not installed in ${__dirname}` +
    ` (run scripts/setup): ${e.message}`);
  process.exit(2);
}

const args = process.argv.slice(2);
let dir = path.join(__dirname, 'arm-schemas');
let expectInvalid = false;
while (args.length && args[0].startsWith('--')) {
  const a = args.shift();
  if (a === '--schemas') dir = args.shift();
  else if (a === '--expect-invalid') expectInvalid = true;
  else { console.error(`validate_arm: unknown option ${a}`); process.exit(2); }
}
if (!args.length) {
  console.error('usage: validate_arm.js [--schemas DIR] [--expect-invalid] FILE...');
  process.exit(2);
}

// ---- schemas ---------------------------------------------------------------------------------
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const index = readJson(path.join(dir, 'index.json'));
const BASE = index.baseUri;
const ROOTS = {
  resourceGroup: BASE + '2019-04-01/deploymentTemplate.json',
  subscription: BASE + '2018-05-01/subscriptionDeploymentTemplate.json',
};
const schemas = new Map();
const ajv = new Ajv({
  allErrors: true, strict: false, validateSchema: false,
  // Some upstream patterns use syntax without the "u" flag's strictness.
  code: { regExp: (p, f) => { try { return new RegExp(p, f); } catch (_) { return new RegExp(p); } } },
});
addFormats(ajv);
(function load(d) {
  for (const name of fs.readdirSync(d).sort()) {
    const p = path.join(d, name);
    if (fs.statSync(p).isDirectory()) { load(p); continue; }
    const url = BASE + path.relative(path.join(dir, 'schemas'), p).split(path.sep).join('/');
    const schema = readJson(p);
    schema.id = url + '#';
    schemas.set(url, schema);
  }
})(path.join(dir, 'schemas'));
// The roots list every resource type of every apiVersion; in memory, their lists keep only
// the branches whose schema files are in the subset.
function narrow(node) {
  if (Array.isArray(node)) return node.forEach(narrow);
  if (node === null || typeof node !== 'object') return;
  for (const key of ['oneOf', 'anyOf']) {
    if (Array.isArray(node[key])) {
      node[key] = node[key].filter((b) => !(b && typeof b.$ref === 'string' && b.$ref.startsWith('http') && !schemas.has(b.$ref.split('#')[0])));
    }
  }
  Object.values(node).forEach(narrow);
}
for (const [url, schema] of schemas) {
  narrow(schema);
  ajv.addSchema(schema, url);
}
const EXPRESSION = schemas.get(BASE + 'common/definitions.json').definitions.expression.pattern;

function at(doc, pointer) {
  let node = doc;
  for (const part of pointer.split('/').filter(Boolean)) {
    if (node === undefined) return undefined;
    node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
/** Follows $ref until a schema without one; returns [schema, the file it is in]. */
function deref(schema, file) {
  for (let hops = 0; schema && schema.$ref && hops < 32; hops++) {
    const ref = schema.$ref.startsWith('#') ? file + schema.$ref : schema.$ref;
    const [f, pointer = ''] = ref.split('#');
    if (!schemas.has(f)) throw new Error(`$ref to a schema outside the subset: ${ref}`);
    file = f;
    schema = at(schemas.get(f), pointer);
  }
  return [schema, file];
}

// Compiled validators, cached by key.
const compiled = new Map();
function validator(key, make) {
  if (!compiled.has(key)) compiled.set(key, make());
  return compiled.get(key);
}
/** The root schema with "resources" left open: each resource is checked on its own. */
function rootValidator(scope) {
  return validator('root:' + scope, () => {
    const s = JSON.parse(JSON.stringify(schemas.get(ROOTS[scope])));
    s.id = ROOTS[scope] + '?resources-apart#';
    s.properties.resources = { type: 'array' };
    return ajv.compile(s);
  });
}
function refValidator(ref) {
  return validator(ref, () => ajv.getSchema(ref));
}
const RESOURCE_BASE = {
  resourceGroup: BASE + 'common/definitions.json#/definitions/resourceBase',
  subscription: ROOTS.subscription + '#/definitions/resourceBase',
};

/** Errors from the expression branch of a oneOf are noise when the value is not one. */
function meaningful(errors) {
  const kept = (errors || []).filter((e) => !(e.parentSchema && e.parentSchema.pattern === EXPRESSION) &&
    !(e.schemaPath || '').includes('expression'));
  return kept.filter((e) => !['oneOf', 'anyOf', 'allOf'].includes(e.keyword) ||
    !kept.some((o) => o !== e && !['oneOf', 'anyOf', 'allOf'].includes(o.keyword) &&
      o.instancePath.startsWith(e.instancePath)));
}
function describe(where, e) {
  const p = e.params || {};
  let what = e.message;
  if (e.keyword === 'enum') what = `must be one of ${JSON.stringify(p.allowedValues).slice(0, 160)}`;
  if (e.keyword === 'required') what = `missing required property "${p.missingProperty}"`;
  return `${where}${e.instancePath.replace(/\//g, '.')}: ${what}`;
}

// ---- strict keys -------------------------------------------------------------------------------
const isExpression = (v) => typeof v === 'string' && v.startsWith('[') && !v.startsWith('[[') && v.endsWith(']');

/** The keys a schema declares for an object, or null when it allows any key. */
function declaredKeys(schema, file, out = new Set(), depth = 0) {
  [schema, file] = deref(schema, file);
  if (!schema || depth > 16) return out;
  if (schema.additionalProperties && schema.additionalProperties !== false) return null;
  if (schema.patternProperties) return null;
  for (const k of Object.keys(schema.properties || {})) out.add(k);
  for (const key of ['allOf', 'oneOf', 'anyOf']) {
    for (const branch of schema[key] || []) {
      if (declaredKeys(branch, file, out, depth + 1) === null) return null;
    }
  }
  return out;
}
/** The schemas that may describe value[key] (one per oneOf/anyOf/allOf branch). */
function childSchemas(schema, file, key, out = [], depth = 0) {
  [schema, file] = deref(schema, file);
  if (!schema || depth > 16) return out;
  if (key === '[]' && schema.items) out.push([schema.items, file]);
  if (key !== '[]' && schema.properties && schema.properties[key]) out.push([schema.properties[key], file]);
  for (const k of ['allOf', 'oneOf', 'anyOf']) {
    for (const branch of schema[k] || []) childSchemas(branch, file, key, out, depth + 1);
  }
  return out;
}
function strictKeys(value, candidates, where, errors, skip = new Set()) {
  if (isExpression(value) || value === null || typeof value !== 'object' || !candidates.length) return;
  if (Array.isArray(value)) {
    const items = candidates.flatMap(([s, f]) => childSchemas(s, f, '[]'));
    value.forEach((v, i) => strictKeys(v, items, `${where}[${i}]`, errors));
    return;
  }
  let declared = new Set();
  for (const [s, f] of candidates) {
    const keys = declaredKeys(s, f);
    if (keys === null) return;
    for (const k of keys) declared.add(k);
  }
  if (!declared.size) return; // a free-form object
  for (const [k, v] of Object.entries(value)) {
    if (skip.has(k)) continue;
    if (!declared.has(k)) { errors.push(`${where}: unknown property "${k}"`); continue; }
    const next = candidates.flatMap(([s, f]) => childSchemas(s, f, k));
    if (k === 'resources' && Array.isArray(v)) {
      // A nested child resource may carry every template-language key of a resource too.
      const items = next.flatMap(([s, f]) => childSchemas(s, f, '[]'));
      items.push([at0(ROOTS.resourceGroup + '#/definitions/resourceBase'), ROOTS.resourceGroup]);
      v.forEach((item, i) => strictKeys(item, items, `${where}.${k}[${i}]`, errors));
      continue;
    }
    strictKeys(v, next, `${where}.${k}`, errors);
  }
}

// ---- expressions --------------------------------------------------------------------------------
/** Parses an ARM expression (without its brackets) into {call, args, access} / {lit} nodes. */
function parseExpression(text) {
  let i = 0;
  const ws = () => { while (text[i] === ' ') i++; };
  function value() {
    ws();
    let node;
    if (text[i] === "'") {
      let s = '';
      for (i++; ; i++) {
        if (i >= text.length) throw new Error('unterminated string');
        if (text[i] === "'") { if (text[i + 1] === "'") { s += "'"; i++; continue; } i++; break; }
        s += text[i];
      }
      node = { lit: s };
    } else if (/[0-9-]/.test(text[i])) {
      const m = /^-?[0-9]+/.exec(text.slice(i));
      i += m[0].length;
      node = { lit: Number(m[0]) };
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i));
      if (!m) throw new Error(`unexpected "${text.slice(i, i + 12)}"`);
      i += m[0].length;
      ws();
      if (text[i] !== '(') {
        if (m[0] === 'true' || m[0] === 'false' || m[0] === 'null') return { lit: m[0] };
        throw new Error(`"${m[0]}" is not a function call`);
      }
      i++;
      const args = [];
      ws();
      if (text[i] === ')') i++;
      else {
        for (;;) {
          args.push(value());
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === ')') { i++; break; }
          throw new Error(`expected "," or ")" at ${i}`);
        }
      }
      node = { call: m[0].toLowerCase(), args };
    }
    for (;;) {
      ws();
      if (text[i] === '.') {
        const m = /^\.[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
        i += m[0].length;
        node = { access: node, member: m[0].slice(1) };
      } else if (text[i] === '[') {
        i++;
        const key = value();
        ws();
        if (text[i] !== ']') throw new Error('expected "]"');
        i++;
        node = { access: node, member: key };
      } else return node;
    }
  }
  const node = value();
  ws();
  if (i !== text.length) throw new Error(`trailing text "${text.slice(i, i + 12)}"`);
  return node;
}
function source(node) {
  if ('lit' in node) return typeof node.lit === 'string' ? `'${node.lit.replace(/'/g, "''")}'` : String(node.lit);
  if ('access' in node) return source(node.access) + (typeof node.member === 'string' ? '.' + node.member : `[${source(node.member)}]`);
  return `${node.call}(${node.args.map(source).join(', ')})`;
}
/** The string a node stands for: literals and format()/concat() of them; anything the
 *  deployment decides stays symbolic as «its source», which is stable across the template. */
function symbolic(node) {
  if ('lit' in node) return String(node.lit);
  if (node.call === 'concat') return node.args.map(symbolic).join('');
  if (node.call === 'format') {
    const args = node.args.slice(1).map(symbolic);
    return symbolic(node.args[0]).replace(/\{(\d+)\}/g, (_, n) => args[Number(n)]);
  }
  return `«${source(node)}»`;
}
function walkCalls(node, visit) {
  if ('access' in node) { walkCalls(node.access, visit); if (typeof node.member === 'object') walkCalls(node.member, visit); return; }
  if (!('call' in node)) return;
  visit(node);
  node.args.forEach((a) => walkCalls(a, visit));
}

// ---- semantics ----------------------------------------------------------------------------------
/** Every string in `value` that is an expression, with where it is; nested templates apart. */
function expressionsIn(value, where, out) {
  if (typeof value === 'string') { if (isExpression(value)) out.push([where, value.slice(1, -1)]); return; }
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (isExpression(k)) out.push([`${where} (key)`, k.slice(1, -1)]);
    const nested = k === 'template' && v && typeof v === 'object' && v.$schema;
    if (!nested) expressionsIn(v, Array.isArray(value) ? `${where}[${k}]` : `${where}.${k}`, out);
  }
}
const nameOf = (r) => (isExpression(r.name) ? symbolic(parseExpression(r.name.slice(1, -1))) : String(r.name));

/** Resources with their full type and name, those nested in a parent's "resources" included. */
function flatten(list, parent, out = []) {
  for (const r of list || []) {
    const type = parent ? `${parent.type}/${r.type.toLowerCase()}` : r.type.toLowerCase();
    const name = parent ? `${parent.name}/${nameOf(r)}` : nameOf(r);
    const entry = { type, name, body: r };
    out.push(entry);
    flatten(r.resources, entry, out);
  }
  return out;
}

/** What a template's expressions may name: its own parameters, variables and resources, or
 *  with a nested template evaluated in the outer scope, those of the outer template too. */
function scopeOf(t, outer) {
  if (outer) return { params: outer.params, vars: outer.vars, used: outer.used, resources: [...flatten(t.resources), ...outer.resources], owner: false };
  return { params: new Set(Object.keys(t.parameters || {})), vars: new Set(Object.keys(t.variables || {})), used: new Set(), resources: flatten(t.resources), owner: true };
}

function semantics(t, where, errors, ctx) {
  const { resources, params, vars, used } = ctx;
  const find = (type, name) => resources.find((r) => r.type === type && r.name === name);
  /** A resource of the template, or a named part of one (a subnet, a gateway's pool). */
  function names(type, segments, at) {
    const parts = type.toLowerCase().split('/');
    if (find(type.toLowerCase(), segments.join('/'))) return;
    for (let cut = 1; cut < segments.length; cut++) {
      const parent = find(parts.slice(0, parts.length - cut).join('/'), segments.slice(0, segments.length - cut).join('/'));
      if (parent && JSON.stringify(parent.body).includes(`"name":${JSON.stringify(segments[segments.length - 1])}`)) return;
    }
    errors.push(`${at}: resourceId(${type}, ${segments.join(', ')}) names no resource of the template`);
  }
  function resourceId(node, at) {
    const args = node.args.map(symbolic);
    const typeAt = args.findIndex((a) => /^[A-Za-z]+\.[A-Za-z.]+\//.test(a));
    if (typeAt < 0) { errors.push(`${at}: ${source(node)} has no resource type`); return; }
    if (typeAt >= 2) return; // another resource group's resource: not this template's
    if (typeAt === 1 && !node.args[0].call) return; // a literal resource group
    names(args[typeAt], args.slice(typeAt + 1), at);
  }
  const expressions = [];
  expressionsIn({ parameters: t.parameters, variables: t.variables, resources: t.resources, outputs: t.outputs }, where, expressions);
  for (const [at, text] of expressions) {
    let node;
    try { node = parseExpression(text); } catch (e) { errors.push(`${at}: cannot parse [${text}]: ${e.message}`); continue; }
    walkCalls(node, (call) => {
      const first = call.args[0] && 'lit' in call.args[0] ? call.args[0].lit : undefined;
      if (call.call === 'parameters') { if (!params.has(first)) errors.push(`${at}: parameters('${first}') is not declared`); used.add(first); }
      if (call.call === 'variables' && !vars.has(first)) errors.push(`${at}: variables('${first}') is not declared`);
      if (call.call === 'resourceid') resourceId(call, at);
      if (call.call === 'subscriptionresourceid' && !/^Microsoft\.Authorization\/roleDefinitions$/i.test(symbolic(call.args[0])))
        errors.push(`${at}: subscriptionResourceId() of ${symbolic(call.args[0])} names no built-in definition`);
      if (call.call === 'reference' && call.args[0] && 'lit' in call.args[0] && !resources.some((r) => r.name === first))
        errors.push(`${at}: reference('${first}') names no resource of the template`);
    });
  }
  resources.map((x) => x.body).forEach((r, i) => {
    for (const dep of r.dependsOn || []) {
      if (isExpression(dep)) continue; // resourceId() expressions were checked above
      if (!resources.some((x) => x.name === dep)) errors.push(`${where}.resources[${i}].dependsOn: "${dep}" names no resource of the template`);
    }
    for (const dep of r.dependsOn || []) {
      if (!isExpression(dep)) continue;
      const node = parseExpression(dep.slice(1, -1));
      if (node.call !== 'resourceid') errors.push(`${where}.resources[${i}].dependsOn: [${dep}] is not a resourceId()`);
    }
  });
  if (!ctx.owner) {
    for (const key of ['parameters', 'variables']) {
      if (t[key] && Object.keys(t[key]).length) errors.push(`${where}.${key}: a template evaluated in the outer scope uses the outer ${key}`);
    }
    return;
  }
  for (const p of params) if (!used.has(p)) errors.push(`${where}.parameters.${p}: declared but never used`);
}

// ---- one template --------------------------------------------------------------------------------
function checkTemplate(t, scope, where, errors, outer = null) {
  const ctx = scopeOf(t, outer);
  const schemaUrl = String(t.$schema || '').replace(/#$/, '');
  if (schemaUrl !== ROOTS[scope]) errors.push(`${where}.$schema: expected ${ROOTS[scope]}# for a ${scope} template`);
  const root = rootValidator(scope);
  if (!root(t)) for (const e of meaningful(root.errors)) errors.push(describe(where, e));
  strictKeys(t, [[schemas.get(ROOTS[scope]), ROOTS[scope]]], where, errors, new Set(['resources']));
  (t.resources || []).forEach((r, i) => {
    const at = `${where}.resources[${i}]`;
    const entry = index.resourceTypes.find((x) => x.scope === scope && x.type.toLowerCase() === String(r.type).toLowerCase() && x.apiVersion === r.apiVersion);
    if (!entry) {
      const have = index.resourceTypes.filter((x) => x.scope === scope && x.type.toLowerCase() === String(r.type).toLowerCase()).map((x) => x.apiVersion);
      errors.push(`${at}: ${r.type}@${r.apiVersion} is not in the schema subset${have.length ? ` (it has ${have.join(', ')})` : ''}`);
      return;
    }
    for (const v of [refValidator(RESOURCE_BASE[scope]), refValidator(entry.ref)]) {
      if (!v(r)) for (const e of meaningful(v.errors)) errors.push(describe(at, e));
    }
    const [file] = entry.ref.split('#');
    // Keys of every resource (resourceBase) plus those of its own definition.
    const base = RESOURCE_BASE[scope].split('#');
    const candidates = [[at0(entry.ref), file], [at0(RESOURCE_BASE[scope]), base[0]],
      [at0(ROOTS[scope] + '#/definitions/resourceBase'), ROOTS[scope]]];
    const deployment = String(r.type).toLowerCase() === 'microsoft.resources/deployments';
    const nested = deployment && r.properties && r.properties.template;
    // A deployment names where it goes with these template-language keys.
    const skip = new Set(deployment ? ['resourceGroup', 'subscriptionId'] : []);
    if (nested) skip.add('properties');
    strictKeys(r, candidates, at, errors, skip);
    if (nested) {
      const { template, ...rest } = r.properties;
      strictKeys(rest, candidates.flatMap(([s, f]) => childSchemas(s, f, 'properties')), `${at}.properties`, errors);
      const innerScope = String((rest.expressionEvaluationOptions || {}).scope || 'Outer').toLowerCase() === 'inner';
      checkTemplate(template, 'resourceGroup', `${at}.properties.template`, errors, innerScope ? null : ctx);
    }
  });
  semantics(t, where, errors, ctx);
}
function at0(ref) {
  const [file, pointer = ''] = ref.split('#');
  return at(schemas.get(file), pointer);
}

// ---- main -----------------------------------------------------------------------------------------
let ok = true;
for (const file of args) {
  let t;
  try { t = readJson(file); } catch (e) { console.log(`FAIL ${file}: not JSON: ${e.message}`); ok = false; continue; }
  const scope = String(t.$schema || '').includes('subscriptionDeploymentTemplate') ? 'subscription' : 'resourceGroup';
  const errors = [];
  try {
    checkTemplate(t, scope, 'template', errors);
  } catch (e) {
    console.log(`FAIL ${file}: the validator broke: ${e.stack}`);
    process.exit(2);
  }
  if (!expectInvalid) {
    console.log(`${errors.length ? 'FAIL' : 'PASS'} ${file} (${(t.resources || []).length} resources, ${errors.length} errors)`);
    for (const e of errors) console.log(`  error: ${e}`);
    if (errors.length) ok = false;
    continue;
  }
  const expected = (t.metadata && t.metadata.expectedErrors) || [];
  const missing = expected.filter((x) => !errors.some((e) => e.includes(x)));
  const rejected = errors.length > 0 && missing.length === 0;
  console.log(`${rejected ? 'REJECTED as expected' : 'FAIL (not rejected as expected)'} ${file} (${errors.length} errors)`);
  for (const e of errors) console.log(`  error: ${e}`);
  for (const m of missing) console.log(`  missing expected error: ${m}`);
  if (!rejected) ok = false;
}
process.exit(ok ? 0 : 1);
