// Renders a kustomization without kubectl: the subset of kustomize that
// deploy/kubernetes uses, so `make ops-check` works where no kubectl is
// installed (Debian bookworm's kubernetes-client is 1.20, whose built-in
// kustomize is too old). Where kubectl is present, ops-check renders with
// both and requires the same documents (tests/ops/check_manifests.mjs).
//
// Supported: resources (files and directories), namespace, images
// (newName, newTag, digest), configMapGenerator (files, literals,
// behavior create/replace/merge, options disableNameSuffixHash, labels,
// annotations) and patches given inline as JSON 6902 operations with a
// kind/name target. Anything else is an error, never silently skipped.
//
// Usage: node tests/ops/kustomize.mjs DIR   (YAML stream on stdout)
import { readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import * as yaml from "js-yaml";

const supported = new Set([
  "apiVersion", "kind", "resources", "namespace", "images",
  "configMapGenerator", "patches",
]);

// Kinds that live outside namespaces (of the ones a kustomization here
// could hold).
const clusterScoped = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding",
  "CustomResourceDefinition", "PersistentVolume", "StorageClass",
  "PriorityClass",
]);

function fail(message) {
  throw new Error(message);
}

function loadKustomization(dir) {
  const file = join(dir, "kustomization.yaml");
  const k = yaml.load(readFileSync(file, "utf8"));
  for (const key of Object.keys(k)) {
    if (!supported.has(key)) {
      fail(`${file}: '${key}' is not supported by this renderer`);
    }
  }
  return k;
}

function build(dir) {
  const k = loadKustomization(dir);
  let docs = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) {
      docs.push(...build(path));
    } else {
      for (const doc of yaml.loadAll(readFileSync(path, "utf8"))) {
        if (doc) {
          docs.push(doc);
        }
      }
    }
  }
  for (const gen of k.configMapGenerator ?? []) {
    docs = generateConfigMap(dir, gen, docs);
  }
  for (const p of k.patches ?? []) {
    applyPatch(p, docs);
  }
  if (k.namespace) {
    for (const doc of docs) {
      if (!clusterScoped.has(doc.kind)) {
        doc.metadata.namespace = k.namespace;
      }
    }
  }
  for (const image of k.images ?? []) {
    setImage(image, docs);
  }
  return docs;
}

function generateConfigMap(dir, gen, docs) {
  const allowed = new Set(["name", "behavior", "files", "literals", "options"]);
  for (const key of Object.keys(gen)) {
    if (!allowed.has(key)) {
      fail(`configMapGenerator ${gen.name}: '${key}' is not supported`);
    }
  }
  const options = gen.options ?? {};
  if (!options.disableNameSuffixHash) {
    // The hash is kustomize's own; a stable name is what presync's config
    // reload needs anyway (see overlays/example/kustomization.yaml).
    fail(`configMapGenerator ${gen.name}: needs disableNameSuffixHash`);
  }
  const data = {};
  for (const f of gen.files ?? []) {
    const [key, path] = f.includes("=") ? f.split("=", 2) : [basename(f), f];
    data[key] = readFileSync(resolve(dir, path), "utf8");
  }
  for (const l of gen.literals ?? []) {
    const at = l.indexOf("=");
    data[l.slice(0, at)] = l.slice(at + 1);
  }
  const metadata = { name: gen.name };
  if (options.labels) {
    metadata.labels = { ...options.labels };
  }
  if (options.annotations) {
    metadata.annotations = { ...options.annotations };
  }
  const made = { apiVersion: "v1", kind: "ConfigMap", metadata, data };
  const behavior = gen.behavior ?? "create";
  const at = docs.findIndex(
    (d) => d.kind === "ConfigMap" && d.metadata.name === gen.name);
  if (behavior === "create") {
    if (at >= 0) {
      fail(`configMapGenerator ${gen.name}: exists already (use replace)`);
    }
    return [...docs, made];
  }
  if (at < 0) {
    fail(`configMapGenerator ${gen.name}: nothing to ${behavior}`);
  }
  if (behavior === "replace") {
    docs[at] = made;
  } else if (behavior === "merge") {
    const old = docs[at];
    old.data = { ...(old.data ?? {}), ...data };
    old.metadata.labels = { ...(old.metadata.labels ?? {}), ...metadata.labels };
  } else {
    fail(`configMapGenerator ${gen.name}: behavior ${behavior}`);
  }
  return docs;
}

// -- JSON 6902 ----------------------------------------------------------------

function pointer(path) {
  if (!path.startsWith("/")) {
    fail(`JSON pointer ${path} must start with /`);
  }
  return path.slice(1).split("/").map(
    (p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function parentOf(doc, parts, path) {
  let node = doc;
  for (const p of parts.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(p)] : node?.[p];
    if (node === undefined) {
      fail(`patch path ${path} does not exist`);
    }
  }
  return node;
}

function applyOperation(doc, op) {
  const parts = pointer(op.path);
  const parent = parentOf(doc, parts, op.path);
  const last = parts[parts.length - 1];
  const isArray = Array.isArray(parent);
  const index = last === "-" ? parent.length : Number(last);
  switch (op.op) {
  case "add":
    if (isArray) {
      parent.splice(index, 0, op.value);
    } else {
      parent[last] = op.value;
    }
    return;
  case "replace":
    if ((isArray ? parent[index] : parent[last]) === undefined) {
      fail(`replace: ${op.path} does not exist`);
    }
    if (isArray) {
      parent[index] = op.value;
    } else {
      parent[last] = op.value;
    }
    return;
  case "remove":
    if (isArray) {
      parent.splice(index, 1);
    } else {
      delete parent[last];
    }
    return;
  default:
    fail(`patch op ${op.op} is not supported`);
  }
}

function applyPatch(p, docs) {
  if (!p.target || typeof p.patch !== "string" || p.path) {
    fail("patches: only inline JSON 6902 patches with a target are supported");
  }
  const ops = yaml.load(p.patch);
  if (!Array.isArray(ops)) {
    fail("patches: strategic merge patches are not supported");
  }
  const hits = docs.filter(
    (d) => (!p.target.kind || d.kind === p.target.kind) &&
           (!p.target.name || d.metadata.name === p.target.name));
  if (hits.length === 0) {
    fail(`patch target ${JSON.stringify(p.target)} matches nothing`);
  }
  for (const doc of hits) {
    for (const op of ops) {
      applyOperation(doc, op);
    }
  }
}

// -- images -------------------------------------------------------------------

function podSpecs(doc) {
  const spec = doc.spec ?? {};
  if (doc.kind === "Pod") {
    return [spec];
  }
  if (doc.kind === "CronJob") {
    return [spec.jobTemplate?.spec?.template?.spec].filter(Boolean);
  }
  return [spec.template?.spec].filter(Boolean);
}

function setImage(image, docs) {
  for (const doc of docs) {
    for (const pod of podSpecs(doc)) {
      for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
        const [name] = c.image.split(/[:@]/);
        if (name !== image.name) {
          continue;
        }
        let out = image.newName ?? name;
        if (image.digest) {
          out += `@${image.digest}`;
        } else if (image.newTag) {
          out += `:${image.newTag}`;
        }
        c.image = out;
      }
    }
  }
}

export function render(dir) {
  return build(resolve(dir));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const docs = render(process.argv[2] ?? ".");
    process.stdout.write(docs.map((d) => yaml.dump(d, { lineWidth: -1 }))
      .join("---\n"));
  } catch (e) {
    console.error(`kustomize.mjs: ${e.message}`);
    process.exit(1);
  }
}
