// Validates deploy/kubernetes without a cluster (make ops-check):
//
// 1. renders the base and every overlay with tests/ops/kustomize.mjs and,
//    where `kubectl` is installed, with `kubectl kustomize` too: both must
//    give the same documents;
// 2. validates every document against the Kubernetes 1.27 schemas of npm
//    kubernetes-models, and ServiceMonitor/PrometheusRule against
//    @kubernetes-models/prometheus-operator (unknown kinds fail);
// 3. checks presync's own rules on each overlay: probes on /healthz and
//    /readyz, resources, read-only root, dropped capabilities, non-root,
//    termination grace above server.shutdown_grace, the config mounted as a
//    directory (reload), the store on a persistent volume, the secrets the
//    config names present in the container's environment, ports matching
//    the config, and the ServiceMonitor, PodDisruptionBudget and
//    NetworkPolicy selecting the pods.
//
// Usage: node tests/ops/check_manifests.mjs [ROOT]   (exit 1 on a failure)
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as yaml from "js-yaml";
import { render } from "./kustomize.mjs";

const require = createRequire(import.meta.url);
const root = resolve(process.argv[2] ?? join(import.meta.dirname, "../.."));
const base = join(root, "deploy/kubernetes/base");
const overlays = join(root, "deploy/kubernetes/overlays");
let failures = 0;
let passed = 0;

function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (ok) {
    passed++;
  } else {
    failures++;
  }
}

function key(doc) {
  return `${doc.kind}/${doc.metadata?.namespace ?? ""}/${doc.metadata?.name}`;
}

function kubectl() {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// -- 1. rendering ---------------------------------------------------------------

function compareWithKubectl(dir, docs) {
  const name = relative(root, dir);
  const text = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  const theirs = new Map(yaml.loadAll(text).filter(Boolean).map((d) => [key(d), d]));
  const ours = new Map(docs.map((d) => [key(d), d]));
  const same = theirs.size === ours.size &&
    [...ours].every(([k, d]) => isDeepStrictEqual(d, theirs.get(k)));
  if (!same) {
    for (const k of new Set([...ours.keys(), ...theirs.keys()])) {
      if (!isDeepStrictEqual(ours.get(k), theirs.get(k))) {
        console.log(`     differs: ${k}`);
      }
    }
  }
  check(same, `${name}: kubectl kustomize renders the same ${ours.size} documents`);
}

// -- 2. schemas -----------------------------------------------------------------

function modelOf(doc) {
  const [group, version] = doc.apiVersion.includes("/")
    ? doc.apiVersion.split("/") : [null, doc.apiVersion];
  const module = group === "monitoring.coreos.com"
    ? `@kubernetes-models/prometheus-operator/${group}/${version}/${doc.kind}`
    : `kubernetes-models/${group ? group + "/" : ""}${version}/${doc.kind}`;
  return require(module)[doc.kind];
}

function validate(name, docs) {
  for (const doc of docs) {
    try {
      new (modelOf(doc))(doc).validate();
      check(true, `${name}: ${key(doc)} matches its schema`);
    } catch (e) {
      check(false, `${name}: ${key(doc)}: ${e.message}`);
    }
  }
}

// -- 3. presync's rules -----------------------------------------------------------

function seconds(text) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(String(text));
  if (!m) {
    return NaN;
  }
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

function portOf(listen) {
  return Number(String(listen).split(":").pop());
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

function rules(name, docs) {
  const find = (kind) => docs.filter((d) => d.kind === kind);
  const workload = [...find("StatefulSet"), ...find("Deployment")];
  check(workload.length === 1, `${name}: one StatefulSet or Deployment`);
  if (workload.length !== 1) {
    return;
  }
  const w = workload[0];
  const pod = w.spec.template.spec;
  const podLabels = w.spec.template.metadata.labels;
  const c = pod.containers.find((x) => x.name === "presync");
  check(Boolean(c), `${name}: a container named presync`);
  if (!c) {
    return;
  }

  // The config file, from the ConfigMap the pod mounts.
  const configVolume = pod.volumes.find((v) => v.configMap);
  const configMap = find("ConfigMap").find(
    (m) => m.metadata.name === configVolume?.configMap?.name);
  check(Boolean(configMap?.data?.["presync.yaml"]),
        `${name}: ConfigMap ${configVolume?.configMap?.name} holds presync.yaml`);
  const config = yaml.load(configMap?.data?.["presync.yaml"] ?? "{}") ?? {};
  const mount = c.volumeMounts.find((m) => m.name === configVolume?.name);
  check(mount && !mount.subPath && c.args.includes(`${mount.mountPath}/presync.yaml`),
        `${name}: the config is mounted as a directory (no subPath) and passed to run`);

  // Security and resources.
  const sc = c.securityContext ?? {};
  check(sc.readOnlyRootFilesystem === true, `${name}: read-only root filesystem`);
  check(sc.allowPrivilegeEscalation === false, `${name}: no privilege escalation`);
  check((sc.capabilities?.drop ?? []).includes("ALL"), `${name}: every capability dropped`);
  check((sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) === true &&
        (pod.securityContext?.runAsUser ?? sc.runAsUser ?? 0) !== 0,
        `${name}: runs as a non-root user`);
  const r = c.resources ?? {};
  check(Boolean(r.requests?.cpu && r.requests?.memory && r.limits?.cpu && r.limits?.memory),
        `${name}: cpu and memory requests and limits`);

  // Probes and ports.
  const apiPort = c.ports.find((p) => p.name === "api");
  const metricsPort = c.ports.find((p) => p.name === "metrics");
  check(c.livenessProbe?.httpGet?.path === "/healthz", `${name}: liveness probe on /healthz`);
  check(c.readinessProbe?.httpGet?.path === "/readyz", `${name}: readiness probe on /readyz`);
  check(apiPort?.containerPort === portOf(config.server?.listen ?? "0.0.0.0:8080"),
        `${name}: port api is server.listen's`);
  check(metricsPort?.containerPort === portOf(config.metrics?.listen ?? "0.0.0.0:9464"),
        `${name}: port metrics is metrics.listen's`);

  // Graceful termination.
  const grace = seconds(config.server?.shutdown_grace ?? "20s");
  check(pod.terminationGracePeriodSeconds > grace,
        `${name}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds}` +
        ` > server.shutdown_grace ${grace}`);

  // The store on a persistent volume.
  const store = config.store?.path ?? "presync.db";
  const claims = (w.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
  const pvcVolumes = pod.volumes.filter((v) => v.persistentVolumeClaim).map((v) => v.name);
  const onVolume = c.volumeMounts.some(
    (m) => [...claims, ...pvcVolumes].includes(m.name) && store.startsWith(`${m.mountPath}/`));
  check(onVolume, `${name}: store.path ${store} lies on a persistent volume`);

  // Secrets the config names come from Secrets, not literals.
  const env = new Map((c.env ?? []).map((e) => [e.name, e]));
  const secretEnv = [config.server?.api_tokens_env ?? "PRESYNC_API_TOKENS"];
  for (const t of config.tenants ?? []) {
    secretEnv.push(t.graph?.client_secret_env);
  }
  for (const v of secretEnv.filter(Boolean)) {
    check(Boolean(env.get(v)?.valueFrom?.secretKeyRef),
          `${name}: ${v} comes from a Secret`);
  }
  check([...env.values()].every((e) => e.value === undefined || !/SECRET|TOKEN|KEY/.test(e.name)),
        `${name}: no secret-looking variable has a literal value`);

  // Scrape, disruption and network policy find the pods.
  const services = find("Service");
  for (const sm of find("ServiceMonitor")) {
    const selected = services.filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels));
    check(selected.length === 1 &&
          selected[0].spec.ports.some((p) => sm.spec.endpoints.every((e) => e.port === p.name)) &&
          matches(selected[0].spec.selector, podLabels),
          `${name}: ServiceMonitor ${sm.metadata.name} selects one Service with its port and the pods`);
  }
  for (const kind of ["PodDisruptionBudget", "NetworkPolicy"]) {
    const found = find(kind);
    check(found.length === 1, `${name}: one ${kind}`);
    for (const d of found) {
      const sel = kind === "NetworkPolicy" ? d.spec.podSelector : d.spec.selector;
      check(matches(sel.matchLabels, podLabels), `${name}: ${kind} selects the pods`);
    }
  }
  for (const kind of ["Service", "ServiceMonitor", "PrometheusRule", "ConfigMap"]) {
    check(find(kind).length >= 1, `${name}: has a ${kind}`);
  }
}

// -- main ---------------------------------------------------------------------

const withKubectl = kubectl();
if (!withKubectl) {
  console.log("note kubectl not installed: rendering with tests/ops/kustomize.mjs only");
}
const dirs = [base, ...readdirSync(overlays).map((d) => join(overlays, d))]
  .filter((d) => existsSync(join(d, "kustomization.yaml")));
for (const dir of dirs) {
  const name = relative(root, dir);
  let docs;
  try {
    docs = render(dir);
  } catch (e) {
    check(false, `${name}: ${e.message}`);
    continue;
  }
  if (withKubectl) {
    compareWithKubectl(dir, docs);
  }
  validate(name, docs);
  if (dir !== base) {
    rules(name, docs);
  }
}
console.log(`manifests: ${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
