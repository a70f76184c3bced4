#!/usr/bin/env node
// Offline Kubernetes manifest validator for mtgan (no cluster needed).
//
//   node build/k8s/validate.js [--crd FILE]... FILE...
//
// Every YAML document in FILE... is checked:
//   - built-in kinds (Deployment, Service, Role, CustomResourceDefinition, ...): against the
//     Kubernetes OpenAPI schemas compiled into the npm package `kubernetes-models` (types,
//     required fields, enums, formats) and, strictly, for unknown fields (like kubeconform
//     --strict): the field lists come from the package's type declarations;
//   - CustomResourceDefinitions additionally: structural-schema rules (every node typed, no
//     properties beside additionalProperties), names consistent, printer columns resolvable;
//   - custom resources (MultiTaskGANJob, Sedna's LifelongLearningJob, ...): against the
//     openAPIV3Schema of a CRD given with --crd or found among FILE..., with ajv, where every
//     object that lists its properties rejects unknown ones (the API server would silently
//     prune them; in CI a typo must fail). Pod templates embedded in Sedna jobs are validated
//     as core/v1 PodTemplateSpec;
//   - CEL rules (x-kubernetes-validations): every rule of a CRD must parse, and every custom
//     resource is checked against the rules on the path to each value it has, with `self` bound
//     to that value after the schema's defaults are applied, as the API server does; a rule that
//     does not hold fails with its message (@marcbachmann/cel-js evaluates standard CEL; none of
//     Kubernetes' CEL library extensions are used by our rules).
// Prints one line per problem ("FAIL file#doc Kind/name: path: message") and exits 1 if any.
// Tools come from build/k8s-tools.sh ($MTGAN_K8S_TOOLS, default out/k8s-tools).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const { pathToFileURL } = require('url');

const ROOT = path.resolve(__dirname, '..', '..');
const TOOLS = process.env.MTGAN_K8S_TOOLS || path.join(ROOT, 'out', 'k8s-tools');
const NM = path.join(TOOLS, 'node_modules');
if (!fs.existsSync(path.join(NM, 'kubernetes-models'))) {
  console.error(`validate: ${NM}/kubernetes-models missing: run build/k8s-tools.sh first`);
  process.exit(2);
}
const toolRequire = createRequire(path.join(TOOLS, 'package.json'));
const yaml = toolRequire('js-yaml');
const Ajv = toolRequire('ajv');
const addFormats = toolRequire('ajv-formats');

// Pod templates inside Sedna jobs: the vendored CRDs (crds/sedna/) leave them open, we check them
// as core/v1 PodTemplateSpec. "[]" marks an array level.
const EMBEDDED_POD_TEMPLATES = {
  'sedna.io/LifelongLearningJob': ['spec.trainSpec.template', 'spec.evalSpec.template', 'spec.deploySpec.template'],
  'sedna.io/FederatedLearningJob': ['spec.aggregationWorker.template', 'spec.trainingWorkers[].template'],
};

const problems = [];
let cel = null; // @marcbachmann/cel-js, loaded in main() (an ES module)
let checkedDocs = 0;

function fail(where, msg) {
  problems.push(`FAIL ${where}: ${msg}`);
}

// ---------------------------------------------------------------------------------------------
// Built-in kinds: kubernetes-models.

// kubernetes-models lays models out by apiVersion: "apps/v1" -> apps/v1/Deployment.js,
// "v1" (the core group) -> v1/Service.js.
function modelFile(apiVersion, kind) {
  if (!/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  const f = path.join(NM, 'kubernetes-models', apiVersion, `${kind}.js`);
  return fs.existsSync(f) ? f : null;
}

const modelCache = new Map();
async function loadModel(file) {
  if (!modelCache.has(file)) {
    const mod = await import(pathToFileURL(file).href);
    const kind = path.basename(file, '.js');
    modelCache.set(file, mod[kind]);
  }
  return modelCache.get(file);
}

// Parses a kubernetes-models .d.ts: the interface's properties and their TypeScript types.
// Types seen: string, number, boolean, string literal unions, IFoo, Array<T>,
// { [key: string]: T; }, and aliases (Quantity, IntOrString, Time) that are leaves.
const dtsCache = new Map();
function resolveImport(fromFile, spec) {
  let base;
  if (spec.startsWith('.')) base = path.resolve(path.dirname(fromFile), spec);
  else base = path.join(NM, spec);
  base = base.replace(/\.js$/, '');
  return `${base}.d.ts`;
}
function parseDts(file) {
  if (dtsCache.has(file)) return dtsCache.get(file);
  const info = { file, props: null, imports: {} };
  dtsCache.set(file, info);
  if (!fs.existsSync(file)) return info;
  const src = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of src.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
    info.imports[m[1]] = resolveImport(file, m[2]);
  }
  const im = src.match(/export interface (I\w+)(?: extends ([\w, ]+))? \{\n([\s\S]*?)\n\}/);
  if (!im) return info; // a type alias: a leaf
  info.imports[im[1]] = file; // self references (JSONSchemaProps)
  const body = im[3].split('\n');
  const props = {};
  // Top-level kinds extend TypeMeta (apiVersion, kind).
  if (im[2] && /\bTypeMeta\b/.test(im[2])) { props.apiVersion = 'string'; props.kind = 'string'; }
  for (let i = 0; i < body.length; i++) {
    const pm = body[i].match(/^ {4}"([^"]+)"\??: (.*)$/);
    if (!pm) continue;
    let type = pm[2];
    if (type === '{') { // a map: { [key: string]: T; }
      const inner = [];
      while (++i < body.length && !/^ {4}\};/.test(body[i])) inner.push(body[i].trim());
      const mm = inner.join(' ').match(/\[key: string\]: (.*);/);
      type = { map: mm ? mm[1] : 'any' };
    } else {
      type = type.replace(/;$/, '');
    }
    props[pm[1]] = type;
  }
  // An empty interface (JSONSchemaPropsOrArray, RawExtension) accepts anything.
  info.props = Object.keys(props).length ? props : null;
  return info;
}

const SCHEMA_PROPS_DTS = () => path.join(NM, 'kubernetes-models', 'apiextensions.k8s.io', 'v1', 'JSONSchemaProps.d.ts');

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkType(value, type, info, where, at) {
  if (value === null || value === undefined) return;
  if (typeof type === 'object' && type.map) {
    if (!isPlainObject(value)) return;
    for (const [k, v] of Object.entries(value)) checkType(v, type.map, info, where, `${at}.${k}`);
    return;
  }
  const arr = type.match(/^Array<(.+)>$/);
  if (arr) {
    if (!Array.isArray(value)) return;
    value.forEach((v, i) => checkType(v, arr[1], info, where, `${at}[${i}]`));
    return;
  }
  const ref = type.match(/^I\w+$/);
  if (ref && info.imports[type]) {
    let target = info.imports[type];
    // JSONSchemaPropsOrArray / OrBool are empty interfaces in the package; they hold
    // JSONSchemaProps (or an array of them, or a boolean).
    if (/JSONSchemaPropsOr(Array|Bool)\.d\.ts$/.test(target)) {
      if (Array.isArray(value)) {
        value.forEach((v, i) => checkStrict(v, SCHEMA_PROPS_DTS(), where, `${at}[${i}]`));
      } else if (isPlainObject(value)) {
        checkStrict(value, SCHEMA_PROPS_DTS(), where, at);
      }
      return;
    }
    checkStrict(value, target, where, at);
  }
}

function checkStrict(value, dtsFile, where, at) {
  if (!isPlainObject(value)) return;
  const info = parseDts(dtsFile);
  if (!info.props) return;
  const kind = path.basename(dtsFile, '.d.ts');
  for (const [k, v] of Object.entries(value)) {
    if (!(k in info.props)) {
      fail(where, `${at ? at + '.' : ''}${k}: unknown field (not in ${kind})`);
      continue;
    }
    checkType(v, info.props[k], info, where, at ? `${at}.${k}` : k);
  }
}

async function validateBuiltin(doc, file, where) {
  const Model = await loadModel(file);
  try {
    new Model(doc).validate();
  } catch (e) {
    const errs = e.errors || [];
    if (errs.length === 0) fail(where, e.message);
    for (const er of errs) fail(where, `${er.instancePath || '/'}: ${er.message}${er.params && er.params.allowedValues ? ' ' + JSON.stringify(er.params.allowedValues) : ''}`);
  }
  checkStrict(doc, file.replace(/\.js$/, '.d.ts'), where, '');
}

// ---------------------------------------------------------------------------------------------
// CRDs and custom resources.

const crds = new Map(); // "group/Kind/version" -> { schema, crdWhere }

// Structural schema rules of apiextensions.k8s.io/v1 (the subset that catches real mistakes).
function checkStructural(node, where, at, isRoot) {
  if (!isPlainObject(node)) return;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  if (!node.type && !preserve && !intOrString) fail(where, `${at}: structural schema: "type" missing`);
  if (node.properties && node.additionalProperties !== undefined && node.additionalProperties !== false) {
    fail(where, `${at}: structural schema: "properties" and "additionalProperties" are mutually exclusive`);
  }
  if (node.type && node.type !== 'object' && (node.properties || node.additionalProperties)) {
    fail(where, `${at}: properties on a non-object (type ${node.type})`);
  }
  if (node.type === 'array' && !node.items) fail(where, `${at}: array without "items"`);
  if (Array.isArray(node.required) && node.properties) {
    for (const r of node.required) if (!(r in node.properties)) fail(where, `${at}: required field "${r}" is not in properties`);
  }
  if (node['x-kubernetes-list-type'] === 'map') {
    for (const k of node['x-kubernetes-list-map-keys'] || []) {
      const req = (node.items && node.items.required) || [];
      if (!req.includes(k)) fail(where, `${at}: list-map key "${k}" must be required in items`);
    }
  }
  if (node.default !== undefined && isRoot) fail(where, `${at}: default at the root`);
  for (const [i, v] of (node['x-kubernetes-validations'] || []).entries()) {
    if (!v || typeof v.rule !== 'string') { fail(where, `${at}.x-kubernetes-validations[${i}]: no rule`); continue; }
    try { cel.parse(v.rule); } catch (e) {
      fail(where, `${at}.x-kubernetes-validations[${i}]: rule does not compile: ${String(e.message).split('\n')[0]}`);
    }
  }
  for (const [k, v] of Object.entries(node.properties || {})) checkStructural(v, where, `${at}.properties.${k}`, false);
  if (isPlainObject(node.items)) checkStructural(node.items, where, `${at}.items`, false);
  if (isPlainObject(node.additionalProperties)) checkStructural(node.additionalProperties, where, `${at}.additionalProperties`, false);
}

function schemaAt(schema, jsonPath) {
  let node = schema;
  for (const seg of jsonPath.replace(/^\./, '').split('.')) {
    if (!node) return null;
    if (node.type === 'array') node = node.items;
    if (seg === 'metadata' && node === schema) return { type: 'object' };
    node = node && node.properties ? node.properties[seg] : null;
  }
  return node;
}

function registerCrd(doc, where) {
  const spec = doc.spec || {};
  const names = spec.names || {};
  if (doc.metadata && doc.metadata.name !== `${names.plural}.${spec.group}`) {
    fail(where, `metadata.name must be "${names.plural}.${spec.group}"`);
  }
  for (const v of spec.versions || []) {
    const schema = v.schema && v.schema.openAPIV3Schema;
    if (!schema) { fail(where, `version ${v.name}: no openAPIV3Schema`); continue; }
    checkStructural(schema, where, `versions[${v.name}].openAPIV3Schema`, true);
    for (const col of v.additionalPrinterColumns || []) {
      if (!schemaAt(schema, col.jsonPath)) fail(where, `printer column ${col.name}: ${col.jsonPath} is not in the schema`);
    }
    crds.set(`${spec.group}/${names.kind}/${v.name}`, { schema, crdWhere: where });
  }
}

// openAPIV3Schema (OpenAPI 3.0 + Kubernetes extensions) -> a strict JSON Schema for ajv.
function toJsonSchema(node, isRoot) {
  if (!isPlainObject(node)) return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'nullable' || k === 'example' || k === 'externalDocs') continue;
    if (k === 'properties') {
      out.properties = {};
      for (const [pk, pv] of Object.entries(v)) out.properties[pk] = toJsonSchema(pv, false);
    } else if (k === 'items' || k === 'additionalProperties' || k === 'not') {
      out[k] = toJsonSchema(v, false);
    } else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') {
      out[k] = v.map((x) => toJsonSchema(x, false));
    } else {
      out[k] = v;
    }
  }
  // OpenAPI 3.0 boolean exclusive bounds -> draft-07 numeric ones.
  if (node.exclusiveMinimum === true) { out.exclusiveMinimum = node.minimum; delete out.minimum; }
  else if (node.exclusiveMinimum === false) delete out.exclusiveMinimum;
  if (node.exclusiveMaximum === true) { out.exclusiveMaximum = node.maximum; delete out.maximum; }
  else if (node.exclusiveMaximum === false) delete out.exclusiveMaximum;
  if (node.nullable === true && out.type) out.type = [out.type, 'null'];
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    if (!out.anyOf) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  // metadata is checked against ObjectMeta separately.
  if (isRoot && out.properties && out.properties.metadata) out.properties.metadata = {};
  // Strict: an object that lists its properties has no others (unless it preserves them).
  if (node.properties && node.additionalProperties === undefined &&
      node['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const compiled = new Map();

function getPath(obj, dotted) {
  // returns [{value, at}] following "[]" array levels
  let cur = [{ value: obj, at: '' }];
  for (const part of dotted.split('.')) {
    const isArr = part.endsWith('[]');
    const key = isArr ? part.slice(0, -2) : part;
    const next = [];
    for (const c of cur) {
      if (!isPlainObject(c.value) || c.value[key] === undefined) continue;
      const v = c.value[key];
      const at = c.at ? `${c.at}.${key}` : key;
      if (isArr) { if (Array.isArray(v)) v.forEach((x, i) => next.push({ value: x, at: `${at}[${i}]` })); }
      else next.push({ value: v, at });
    }
    cur = next;
  }
  return cur;
}

// The value the API server validates: value with the schema's defaults filled in (a copy).
function withDefaults(node, value) {
  if (!isPlainObject(node)) return value;
  if (isPlainObject(value) && node.properties) {
    const out = { ...value };
    for (const [k, sub] of Object.entries(node.properties)) {
      if (out[k] === undefined && sub.default !== undefined) out[k] = JSON.parse(JSON.stringify(sub.default));
    }
    return out;
  }
  return value;
}

// Checks value against the CEL rules of node and of everything below it that value has.
function checkCel(node, value, where, at) {
  if (!isPlainObject(node) || value === undefined || value === null) return;
  const self = withDefaults(node, value);
  for (const v of node['x-kubernetes-validations'] || []) {
    let ok;
    try { ok = cel.evaluate(v.rule, { self }); } catch (e) {
      fail(where, `${at || '/'}: rule "${v.rule}" cannot be evaluated: ${String(e.message).split('\n')[0]}`);
      continue;
    }
    if (ok !== true) fail(where, `${at || '/'}: ${v.message || `failed rule: ${v.rule}`}`);
  }
  if (isPlainObject(self) && node.properties) {
    for (const [k, sub] of Object.entries(node.properties)) checkCel(sub, self[k], where, at ? `${at}.${k}` : k);
  } else if (isPlainObject(self) && isPlainObject(node.additionalProperties)) {
    for (const [k, x] of Object.entries(self)) checkCel(node.additionalProperties, x, where, at ? `${at}.${k}` : k);
  } else if (Array.isArray(self) && isPlainObject(node.items)) {
    self.forEach((x, i) => checkCel(node.items, x, where, `${at}[${i}]`));
  }
}

async function validateCustom(doc, where) {
  const [group, version] = doc.apiVersion.split('/');
  const key = `${group}/${doc.kind}/${version}`;
  const crd = crds.get(key);
  if (!crd) { fail(where, `no schema for ${doc.apiVersion} ${doc.kind} (no CRD given for it)`); return; }
  if (!compiled.has(key)) compiled.set(key, ajv.compile(toJsonSchema(crd.schema, true)));
  const validate = compiled.get(key);
  if (!validate(doc)) {
    for (const er of validate.errors) {
      let msg = er.message;
      if (er.keyword === 'additionalProperties') msg = `unknown field "${er.params.additionalProperty}"`;
      if (er.keyword === 'enum') msg += ` ${JSON.stringify(er.params.allowedValues)}`;
      fail(where, `${er.instancePath || '/'}: ${msg}`);
    }
  }
  checkCel(crd.schema, doc, where, '');
  checkStrict(doc.metadata, path.join(NM, '@kubernetes-models', 'apimachinery', 'apis', 'meta', 'v1', 'ObjectMeta.d.ts'), where, 'metadata');
  const podTemplate = path.join(NM, 'kubernetes-models', 'v1', 'PodTemplateSpec.js');
  for (const p of EMBEDDED_POD_TEMPLATES[`${group}/${doc.kind}`] || []) {
    const found = getPath(doc, p);
    for (const { value, at } of found) {
      const Model = await loadModel(podTemplate);
      try { new Model(value).validate(); } catch (e) {
        for (const er of e.errors || [{ instancePath: '', message: e.message }]) fail(where, `${at}${er.instancePath.replace(/\//g, '.')}: ${er.message}`);
      }
      checkStrict(value, podTemplate.replace(/\.js$/, '.d.ts'), where, at);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function loadDocs(file) {
  const text = fs.readFileSync(file, 'utf8');
  let docs;
  try {
    docs = yaml.loadAll(text);
  } catch (e) {
    fail(file, `YAML: ${e.message.split('\n')[0]}`);
    return [];
  }
  return docs.map((d, i) => ({ doc: d, where: `${path.relative(process.cwd(), file)}#${i + 1}` }))
    .filter((x) => x.doc !== null && x.doc !== undefined);
}

async function main() {
  const args = process.argv.slice(2);
  const crdFiles = [];
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--crd') crdFiles.push(args[++i]);
    else files.push(args[i]);
  }
  if (files.length === 0) { console.error('usage: validate.js [--crd FILE]... FILE...'); process.exit(2); }
  const celMain = path.join(NM, '@marcbachmann', 'cel-js', 'lib', 'index.js');
  if (!fs.existsSync(celMain)) { console.error(`validate: ${celMain} missing: run build/k8s-tools.sh first`); process.exit(2); }
  cel = await import(pathToFileURL(celMain).href);
  const all = files.flatMap(loadDocs);
  // CRDs first (from --crd and from the files themselves), so order of arguments never matters.
  for (const f of crdFiles) {
    for (const { doc, where } of loadDocs(f)) if (doc.kind === 'CustomResourceDefinition') registerCrd(doc, where);
  }
  for (const { doc, where } of all) {
    if (isPlainObject(doc) && doc.kind === 'CustomResourceDefinition') registerCrd(doc, where);
  }
  for (const { doc, where: w } of all) {
    checkedDocs++;
    if (!isPlainObject(doc)) { fail(w, 'document is not a mapping'); continue; }
    const name = doc.metadata && doc.metadata.name;
    const where = `${w} ${doc.kind || '?'}/${name || '?'}`;
    if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') { fail(where, 'apiVersion and kind are required'); continue; }
    if (!name) fail(where, 'metadata.name is required');
    const builtin = modelFile(doc.apiVersion, doc.kind);
    if (builtin) await validateBuiltin(doc, builtin, where);
    else if (doc.apiVersion.includes('.') && doc.apiVersion.includes('/')) await validateCustom(doc, where);
    else fail(where, `unknown built-in kind ${doc.apiVersion} ${doc.kind}`);
  }
  for (const p of problems) console.log(p);
  if (problems.length) {
    console.log(`validate: ${problems.length} problem(s) in ${checkedDocs} document(s) from ${files.length} file(s)`);
    process.exit(1);
  }
  console.log(`validate: ${checkedDocs} document(s) from ${files.length} file(s) OK`);
}

main().catch((e) => { console.error(`validate: internal error: ${e.stack || e}`); process.exit(2); });
