// Steps 1 and 2 of deploy/test/run: render every kustomize overlay offline,
// validate every object against the Kubernetes schemas (kubernetes-models,
// generated from Kubernetes' OpenAPI), reject fields the schemas do not know
// (what `kubectl apply`'s strict field validation would refuse), and check
// the deployment policy on the rendered objects.
//
//   node deploy/test/validate.mjs [--out DIR]
//
// Prints one line per check ("ok [schema|policy] ..." / "FAIL ..."), then
// the counts per phase and "validate: N passed, M failed"; exits 1 on any
// failure. With --out, writes each overlay's rendering to DIR/<overlay>.yaml.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import yaml from "js-yaml";

const here = dirname(fileURLToPath(import.meta.url));
const k8sDir = resolve(here, "../k8s");
const require = createRequire(import.meta.url);
const modelsDir = dirname(require.resolve("kubernetes-models/package.json"));
// Custom resources with published models: the optional ServiceMonitor.
const crdModels = {
  "monitoring.coreos.com": dirname(require.resolve("@kubernetes-models/prometheus-operator/package.json")),
};

// Overlays and what each may deviate from the policy, with the reason.
const overlays = {
  base: {},
  dev: {},
  production: {},
  // podman kube play has no Services or cluster DNS: the pods share the
  // host's network, bound to 127.0.0.1 only (overlays/podman explains).
  podman: { allowHostNetwork: true, noStatefulSets: true },
  // High availability: the services as stateless Deployments over a
  // PostgreSQL StatefulSet run by Patroni (overlays/ha explains); the
  // database's pods mount a token, Patroni's DCS being the Kubernetes API.
  ha: { stateless: true },
};

// Checks are counted per phase: "schema" (step 1 of deploy/test/run: render
// and validate) and "policy" (step 2).
const counts = { schema: { passed: 0, failed: 0 }, policy: { passed: 0, failed: 0 } };
let phase = "schema";
let collect = null; // when set, check() records failures here instead
function check(ok, what, detail = "") {
  if (collect) {
    if (!ok) collect.push(`${what}${detail ? `: ${detail}` : ""}`);
    return ok;
  }
  if (ok) {
    counts[phase].passed++;
    console.log(`  ok   [${phase}] ${what}`);
  } else {
    counts[phase].failed++;
    console.log(`  FAIL [${phase}] ${what}${detail ? `: ${detail}` : ""}`);
  }
  return ok;
}

// ---- Schema: kubernetes-models' validators ------------------------------

const builtinGroups = new Set([
  "", "apps", "batch", "policy", "networking.k8s.io", "autoscaling",
  "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io",
  "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io",
  "admissionregistration.k8s.io", "apiextensions.k8s.io",
  "certificates.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
]);

function modelPath(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return { group, version, dir: group ? `${group}/${version}` : version };
}

async function schemaErrors(obj) {
  const { group, dir } = modelPath(obj.apiVersion ?? "");
  const crdDir = crdModels[group];
  if (!builtinGroups.has(group) && !crdDir) return [`${obj.apiVersion} is not a built-in API group`];
  const base = crdDir ?? modelsDir;
  let mod;
  try {
    mod = await import(crdDir ? join(crdDir, dir, "index.js") : `kubernetes-models/${dir}`);
  } catch {
    return [`no schema for apiVersion ${obj.apiVersion}`];
  }
  const Model = mod[obj.kind] ?? mod.default?.[obj.kind];
  if (!Model) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  const errors = [];
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(e.message);
  }
  errors.push(...unknownFields(obj, join(base, dir, `${obj.kind}.d.ts`), obj.kind));
  return errors;
}

// ---- Strict fields: the models' type declarations list every field -------
// The JSON schemas allow unknown properties (as Kubernetes' OpenAPI does);
// the API server's strict field validation refuses them. Field names and
// types come from the .d.ts files generated from the same OpenAPI.

const typeCache = new Map();

function resolveImport(fromFile, spec) {
  if (spec.startsWith(".")) return resolve(dirname(fromFile), `${spec}.d.ts`);
  for (const base of [join(modelsDir, "node_modules"), join(here, "node_modules")]) {
    const p = join(base, `${spec}.d.ts`);
    if (existsSync(p)) return p;
  }
  return null;
}

// A small parser of the declarations' type expressions: Array<T>,
// { [key: string]: T }, inline objects { "field"?: T; ... }, interface names
// (resolved through the file's imports) and anything else as a primitive.
function parseType(src, pos, ctx) {
  const skip = () => { while (/\s/.test(src[pos])) pos++; };
  skip();
  if (src.startsWith("Array<", pos)) {
    const [of, p] = parseType(src, pos + 6, ctx);
    pos = p;
    skip();
    if (src[pos] !== ">") throw new Error(`${ctx.file}: expected > at ${pos}`);
    return [{ kind: "array", of }, pos + 1];
  }
  if (src[pos] === "{") {
    pos++;
    const fields = new Map();
    let mapOf = null;
    for (;;) {
      skip();
      if (src[pos] === "}") { pos++; break; }
      let m;
      if ((m = /^\[key: string\]:/.exec(src.slice(pos)))) {
        const [t, p] = parseType(src, pos + m[0].length, ctx);
        mapOf = t;
        pos = p;
      } else if ((m = /^"([^"]+)"\??:/.exec(src.slice(pos)))) {
        const [t, p] = parseType(src, pos + m[0].length, ctx);
        fields.set(m[1], t);
        pos = p;
      } else {
        throw new Error(`${ctx.file}: cannot parse member at ${src.slice(pos, pos + 40)}`);
      }
      skip();
      if (src[pos] === ";" || src[pos] === ",") pos++;
    }
    return [mapOf ? { kind: "map", of: mapOf } : { kind: "object", fields }, pos];
  }
  // A name or a primitive/literal union: up to ; , > or } at depth 0.
  let depth = 0;
  const begin = pos;
  while (pos < src.length) {
    const ch = src[pos];
    if (ch === "<" || ch === "[" || ch === "(") depth++;
    else if (ch === ">" || ch === "]" || ch === ")") { if (depth === 0) break; depth--; }
    else if ((ch === ";" || ch === "," || ch === "}") && depth === 0) break;
    else if (ch === '"') { pos = src.indexOf('"', pos + 1); }
    pos++;
  }
  const t = src.slice(begin, pos).trim();
  if (/^I\w+$/.test(t)) {
    if (ctx.imports.has(t)) return [{ kind: "ref", file: ctx.imports.get(t) }, pos];
    if (t === ctx.ownName) return [{ kind: "ref", file: ctx.file }, pos];
  }
  return [{ kind: "prim" }, pos];
}

// Fields of the first interface declared in a .d.ts file, or null when the
// file declares a plain type (IntOrString, Quantity, Time, ...).
function fieldsOf(file) {
  if (typeCache.has(file)) return typeCache.get(file);
  typeCache.set(file, null);
  if (!file || !existsSync(file)) return null;
  const src = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of src.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
    for (const name of m[1].split(",").map((x) => x.trim())) {
      imports.set(name, resolveImport(file, m[2]));
    }
  }
  const start = /export interface (\w+)[^{]*(?=\{)/.exec(src);
  if (!start) return null;
  const [type] = parseType(src, start.index + start[0].length, { file, imports, ownName: start[1] });
  typeCache.set(file, type.fields);
  return type.fields;
}

function unknownFields(value, file, path) {
  return checkFields(value, fieldsOf(file), path);
}

function checkFields(value, fields, path) {
  if (!fields || value === null || typeof value !== "object" || Array.isArray(value)) return [];
  const errors = [];
  for (const [key, v] of Object.entries(value)) {
    const type = fields.get(key);
    if (!type) {
      errors.push(`${path}.${key}: unknown field`);
      continue;
    }
    errors.push(...walkType(v, type, `${path}.${key}`));
  }
  return errors;
}

function walkType(v, type, path) {
  if (v === null || v === undefined) return [];
  switch (type.kind) {
    case "ref":
      return unknownFields(v, type.file, path);
    case "object":
      return checkFields(v, type.fields, path);
    case "array":
      return Array.isArray(v) ? v.flatMap((e, i) => walkType(e, type.of, `${path}[${i}]`)) : [];
    case "map":
      return typeof v === "object" ? Object.entries(v).flatMap(([k, e]) => walkType(e, type.of, `${path}.${k}`)) : [];
    default:
      return [];
  }
}

// ---- Policy --------------------------------------------------------------

const restrictedVolumeTypes = new Set([
  "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
  "persistentVolumeClaim", "projected", "secret",
]);

function podTemplate(obj) {
  if (obj.kind === "Pod") return { metadata: obj.metadata, spec: obj.spec };
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(obj.kind)) return obj.spec?.template;
  if (obj.kind === "CronJob") return obj.spec?.jobTemplate?.spec?.template;
  return null;
}

function quantity(q) {
  if (q === undefined || q === null) return NaN;
  const s = String(q);
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(s);
  if (!m) return NaN;
  const mult = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return parseFloat(m[1]) * (m[2] ? mult[m[2]] : 1);
}

function imageOk(image) {
  if (!image) return "no image";
  if (image.includes("@sha256:")) return "";
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  if (colon < 0) return `${image} has no tag`;
  const tag = image.slice(colon + 1);
  if (tag === "latest") return `${image} uses :latest`;
  return "";
}

function durationSeconds(s) {
  let total = 0;
  const re = /([0-9.]+)(ms|s|m|h)/g;
  let m;
  let any = false;
  while ((m = re.exec(s))) {
    any = true;
    total += parseFloat(m[1]) * { ms: 1e-3, s: 1, m: 60, h: 3600 }[m[2]];
  }
  return any ? total : NaN;
}

// absl flags in effect for a container: --flagfile= files from its mounted
// ConfigMaps in order, then its other args (later wins).
function effectiveFlags(container, spec, byKind) {
  const flags = new Map();
  const mounts = container.volumeMounts ?? [];
  const files = new Map();
  for (const m of mounts) {
    const vol = (spec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol?.configMap) continue;
    const cm = (byKind.ConfigMap ?? []).find((c) => c.metadata.name === vol.configMap.name);
    if (!cm) continue;
    for (const [key, text] of Object.entries(cm.data ?? {})) files.set(`${m.mountPath}/${key}`, text);
  }
  const apply = (arg) => {
    const m = /^--([a-z_]+)=(.*)$/.exec(arg.trim());
    if (!m) return;
    if (m[1] === "flagfile") {
      for (const f of m[2].split(",")) {
        for (const line of (files.get(f) ?? "").split("\n")) {
          if (!line.startsWith("#")) apply(line);
        }
      }
    } else {
      flags.set(m[1], m[2]);
    }
  };
  for (const a of [...(container.command ?? []).slice(1), ...(container.args ?? [])]) apply(a);
  return flags;
}

function selects(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

function policy(name, objs, opts) {
  const byKind = {};
  for (const o of objs) (byKind[o.kind] ??= []).push(o);
  const id = (o) => `${name}: ${o.kind}/${o.metadata?.name}`;

  // No Secret objects with data in the repository's manifests.
  for (const s of byKind.Secret ?? []) {
    check(false, `${id(s)}: no Secret is rendered (secrets are referenced by name)`);
  }

  const ns = byKind.Namespace ?? [];
  check(ns.length === 1 && ns[0].metadata.labels?.["pod-security.kubernetes.io/enforce"] === "restricted",
    `${name}: Namespace enforces Pod Security "restricted"`);
  const deny = (byKind.NetworkPolicy ?? []).find((p) =>
    Object.keys(p.spec.podSelector ?? {}).length === 0 &&
    (p.spec.policyTypes ?? []).includes("Ingress") && (p.spec.policyTypes ?? []).includes("Egress") &&
    !p.spec.ingress && !p.spec.egress);
  check(Boolean(deny), `${name}: a default-deny NetworkPolicy (ingress and egress)`);

  const workloads = objs.filter((o) => podTemplate(o));
  check(workloads.length >= 2, `${name}: renders the registry and timeline workloads`, `${workloads.length} found`);
  for (const w of workloads) {
    const t = podTemplate(w);
    const spec = t.spec;
    const labels = t.metadata?.labels ?? {};
    const where = id(w);
    // presence's own workloads run its image; in the ha overlay the others
    // are the database.
    const isService = (spec.containers ?? []).every((c) => imageName(c.image) === "presence");
    if (opts.stateless) {
      if (isService) statelessServicePolicy(w, where, labels, byKind);
      else databasePolicy(w, where, labels, byKind);
    } else if (opts.noStatefulSets) {
      check(w.kind === "Deployment", `${where}: podman plays it as a Deployment`);
    } else {
      check(w.kind === "StatefulSet", `${where}: is a StatefulSet`);
      check(w.spec.replicas === 1, `${where}: one replica (RocksDB: one writer)`);
      check((w.spec.volumeClaimTemplates ?? []).length === 1, `${where}: a volumeClaimTemplate for its data`);
      const headless = (byKind.Service ?? []).find((s) => s.metadata.name === w.spec.serviceName);
      check(headless?.spec.clusterIP === "None" && selects(headless.spec.selector, labels),
        `${where}: serviceName is a headless Service selecting its pods`);
      const svc = (byKind.Service ?? []).find((s) => s.spec.clusterIP !== "None" &&
        selects(s.spec.selector, labels) && (s.spec.ports ?? []).some((p) => p.name === "grpc"));
      check(Boolean(svc), `${where}: a ClusterIP Service with a port named grpc`);
      const pdb = (byKind.PodDisruptionBudget ?? []).find((p) => selects(p.spec.selector?.matchLabels, labels));
      check(Boolean(pdb), `${where}: a PodDisruptionBudget`);
      const np = (byKind.NetworkPolicy ?? []).find((p) =>
        Object.keys(p.spec.podSelector?.matchLabels ?? {}).length > 0 && selects(p.spec.podSelector.matchLabels, labels));
      check(Boolean(np), `${where}: a NetworkPolicy of its own`);
      // A stock Prometheus scrapes without labels of ours: every pod of its
      // namespace (by the automatic kubernetes.io/metadata.name label,
      // deploy/k8s/base/monitoring.yaml) reaches the metrics port.
      const scrape = (np?.spec.ingress ?? []).find((r) =>
        (r.ports ?? []).some((p) => p.port === "metrics") &&
        (r.from ?? []).some((f) => !f.podSelector &&
          /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] ?? "")));
      check(Boolean(scrape), `${where}: metrics port open to Prometheus' namespace`);
    }
    const sa = (byKind.ServiceAccount ?? []).find((s) => s.metadata.name === spec.serviceAccountName);
    if (opts.stateless && !isService) {
      check(Boolean(sa) && sa.metadata.name !== "default" && namespacedRoleOnly(sa.metadata.name, byKind),
        `${where}: own ServiceAccount; its token (Patroni's DCS) bound only to a namespaced Role limited to ` +
        "endpoints and pods");
    } else {
      check(Boolean(sa) && sa.automountServiceAccountToken === false && spec.automountServiceAccountToken === false,
        `${where}: own ServiceAccount, no token automount`);
    }
    const psc = spec.securityContext ?? {};
    check(psc.runAsNonRoot === true && psc.runAsUser > 0 && psc.runAsGroup > 0 && psc.fsGroup > 0 &&
      ["RuntimeDefault", "Localhost"].includes(psc.seccompProfile?.type),
    `${where}: pod securityContext (runAsNonRoot, fixed uid/gid, fsGroup, seccomp)`, JSON.stringify(psc));
    check(!spec.hostPID && !spec.hostIPC && (opts.allowHostNetwork || !spec.hostNetwork),
      `${where}: no host namespaces${opts.allowHostNetwork && spec.hostNetwork ? " (hostNetwork allowed: podman)" : ""}`);
    const badVols = (spec.volumes ?? []).filter((v) => !Object.keys(v).some((k) => restrictedVolumeTypes.has(k)));
    check(badVols.length === 0, `${where}: only volume types the restricted profile allows`, JSON.stringify(badVols));
    for (const v of spec.volumes ?? []) {
      if (v.configMap) {
        check((byKind.ConfigMap ?? []).some((c) => c.metadata.name === v.configMap.name),
          `${where}: ConfigMap ${v.configMap.name} is rendered`);
      }
    }
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const cw = `${where} container ${c.name}`;
      const imgErr = imageOk(c.image);
      check(!imgErr, `${cw}: image ${c.image} pinned (tag, not latest)`, imgErr);
      const probes = ["startupProbe", "readinessProbe", "livenessProbe"];
      if (!isService) {
        // The database: Patroni's REST API (/liveness, /readiness) answers.
        check(probes.every((p) => c[p]?.httpGet?.path && c[p]?.httpGet?.port),
          `${cw}: HTTP startup/readiness/liveness probes (Patroni's REST API)`);
      } else {
        check(probes.every((p) => c[p]?.grpc?.port), `${cw}: native gRPC startup/readiness/liveness probes`);
      }
      const r = c.resources ?? {};
      const ok = ["cpu", "memory"].every((k) =>
        quantity(r.requests?.[k]) > 0 && quantity(r.limits?.[k]) >= quantity(r.requests?.[k]));
      check(ok, `${cw}: cpu/memory requests and limits (limits >= requests)`, JSON.stringify(r));
      const sc = c.securityContext ?? {};
      check(sc.allowPrivilegeEscalation === false && sc.readOnlyRootFilesystem === true &&
        (sc.capabilities?.drop ?? []).includes("ALL") && !(sc.capabilities?.add ?? []).length &&
        !sc.privileged && (sc.runAsNonRoot ?? psc.runAsNonRoot) === true &&
        (sc.runAsUser ?? psc.runAsUser) > 0 &&
        ["RuntimeDefault", "Localhost"].includes((sc.seccompProfile ?? psc.seccompProfile)?.type),
      `${cw}: restricted securityContext (non-root, read-only root, no escalation, drop ALL, seccomp)`, JSON.stringify(sc));
      check(!c.command || !["sh", "bash", "/bin/sh", "/bin/bash"].includes(c.command[0]),
        `${cw}: runs its binary as PID 1 (no shell)`);

      for (const e of (c.env ?? []).filter((e) => /PASSW|SECRET|TOKEN/i.test(e.name))) {
        check(e.value === undefined && Boolean(e.valueFrom?.secretKeyRef),
          `${cw}: env ${e.name} comes from a Secret (secretKeyRef), not a literal`);
      }
      if (!isService) continue;  // the rest is about presence's flags

      const flags = effectiveFlags(c, spec, byKind);
      const grace = durationSeconds(flags.get("shutdown_grace") ?? "10s");
      const tgps = spec.terminationGracePeriodSeconds ?? 30;
      check(tgps > grace, `${cw}: terminationGracePeriodSeconds ${tgps} > --shutdown_grace ${grace}s`);
      const healthPort = Number((flags.get("health_listen") ?? "").split(":").pop());
      // podman kube play ignores gRPC probes; the podman overlay leaves them
      // as dev has them rather than adapt what podman does not run.
      if (!opts.allowHostNetwork) {
        check(probes.every((p) => c[p]?.grpc?.port === healthPort),
          `${cw}: probes target --health_listen's port (${healthPort})`);
      }
      if (opts.stateless) {
        storeFlagsPolicy(cw, c, flags, byKind);
      } else {
        check((flags.get("data_dir") ?? "").startsWith("/var/lib/presence/") &&
          (c.volumeMounts ?? []).some((m) => m.mountPath === "/var/lib/presence" && m.name === "data"),
        `${cw}: --data_dir is on the data volume`);
      }
      if (flags.has("registry")) {
        const [host, port] = flags.get("registry").split(":");
        if (opts.allowHostNetwork) {
          check(host === "127.0.0.1", `${cw}: --registry is on loopback (${flags.get("registry")})`);
        } else {
          const svc = (byKind.Service ?? []).find((s) => s.metadata.name === host);
          check(Boolean(svc) && svc.spec.clusterIP !== "None" &&
            svc.spec.ports.some((p) => p.name === "grpc" && String(p.port) === port),
          `${cw}: --registry=${flags.get("registry")} is the registry Service's DNS name and grpc port`);
        }
      }
      if (opts.allowHostNetwork) {
        for (const f of ["listen", "health_listen", "metrics_listen"]) {
          check((flags.get(f) ?? "").startsWith("127.0.0.1:"), `${cw}: --${f} bound to 127.0.0.1 (host network)`);
        }
      }
    }
  }
}

// ---- Policy of the ha overlay -------------------------------------------

// "presence" for registry.example.com/presence:0.1.0 or presence@sha256:...
function imageName(image) {
  const path = (image ?? "").split("@")[0];
  const last = path.slice(path.lastIndexOf("/") + 1);
  return last.split(":")[0];
}

function workloadsOf(byKind) {
  return Object.values(byKind).flat().filter((o) => podTemplate(o));
}

// The database: StatefulSets whose pods do not run presence's image.
function databases(byKind) {
  return (byKind.StatefulSet ?? []).filter((w) =>
    (podTemplate(w).spec.containers ?? []).every((c) => imageName(c.image) !== "presence"));
}

function ownNetworkPolicy(labels, byKind) {
  return (byKind.NetworkPolicy ?? []).find((p) =>
    Object.keys(p.spec.podSelector?.matchLabels ?? {}).length > 0 && selects(p.spec.podSelector.matchLabels, labels));
}

function pdbOf(labels, byKind) {
  return (byKind.PodDisruptionBudget ?? []).find((p) => selects(p.spec.selector?.matchLabels, labels));
}

// A peer of a NetworkPolicy rule that names pods (never "anything", never an
// address block) in this namespace, or cluster DNS.
function peerIsPodsOrDns(peer) {
  if (peer.ipBlock || !peer.podSelector || Object.keys(peer.podSelector.matchLabels ?? {}).length === 0) return false;
  if (!peer.namespaceSelector) return true;
  return peer.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"] === "kube-system" &&
    peer.podSelector.matchLabels?.["k8s-app"] === "kube-dns";
}

function selectsAnyWorkload(peer, workloads) {
  return workloads.some((w) => selects(peer.podSelector?.matchLabels, podTemplate(w).metadata?.labels ?? {}));
}

function statelessServicePolicy(w, where, labels, byKind) {
  const spec = podTemplate(w).spec;
  check(w.kind === "Deployment", `${where}: is a Deployment (stateless)`);
  check(w.spec.replicas >= 3, `${where}: at least 3 replicas`, `replicas: ${w.spec.replicas}`);
  check(!w.spec.volumeClaimTemplates && (spec.volumes ?? []).every((v) => v.configMap || v.secret || v.projected) &&
    spec.containers.every((c) => (c.volumeMounts ?? []).every((m) => m.mountPath !== "/var/lib/presence")),
  `${where}: no volumes but configuration and Secrets (nothing at /var/lib/presence)`,
  JSON.stringify(spec.volumes));
  const ru = w.spec.strategy?.rollingUpdate;
  check(w.spec.strategy?.type === "RollingUpdate" && ru && String(ru.maxUnavailable) === "0",
    `${where}: rolling updates add a replica before removing one (maxUnavailable 0)`, JSON.stringify(w.spec.strategy));
  const spread = (spec.topologySpreadConstraints ?? []).find((t) =>
    t.topologyKey === "kubernetes.io/hostname" && t.maxSkew === 1 && t.whenUnsatisfiable === "DoNotSchedule" &&
    selects(t.labelSelector?.matchLabels, labels));
  check(Boolean(spread), `${where}: topologySpreadConstraints over nodes (maxSkew 1, DoNotSchedule, its own pods)`);
  const pdb = pdbOf(labels, byKind);
  check(pdb?.spec.minAvailable >= 2 && pdb.spec.minAvailable < w.spec.replicas && pdb.spec.maxUnavailable === undefined,
    `${where}: a PodDisruptionBudget that protects (minAvailable >= 2, below the replicas)`, JSON.stringify(pdb?.spec));
  const hpa = (byKind.HorizontalPodAutoscaler ?? []).find((h) =>
    h.spec.scaleTargetRef?.kind === "Deployment" && h.spec.scaleTargetRef?.name === w.metadata.name);
  check(hpa?.apiVersion === "autoscaling/v2" && hpa.spec.minReplicas >= 3 && hpa.spec.maxReplicas >= hpa.spec.minReplicas &&
    (hpa.spec.metrics ?? []).some((m) => m.type === "Resource" && m.resource?.name === "cpu"),
  `${where}: a HorizontalPodAutoscaler on CPU (minReplicas >= 3)`, JSON.stringify(hpa?.spec));
  check(spec.containers.every((c) => quantity(c.resources?.requests?.cpu) > 0),
    `${where}: CPU requests (what the HPA's utilization is relative to)`);
  const svc = (byKind.Service ?? []).find((s) => s.spec.clusterIP !== "None" &&
    selects(s.spec.selector, labels) && (s.spec.ports ?? []).some((p) => p.name === "grpc"));
  check(Boolean(svc), `${where}: a ClusterIP Service with a port named grpc`);
  // Egress: the database's PostgreSQL port, cluster DNS, presence's own
  // services (the timeline calls the registry), nothing else.
  const np = ownNetworkPolicy(labels, byKind);
  const rules = np?.spec.egress ?? [];
  const dbs = databases(byKind);
  const services = workloadsOf(byKind).filter((o) => !dbs.includes(o) && o !== w);
  const allowed = (rule) => (rule.to ?? []).length > 0 && (rule.ports ?? []).length > 0 &&
    rule.to.every((peer) => peerIsPodsOrDns(peer) &&
      (peer.namespaceSelector || selectsAnyWorkload(peer, dbs) || selectsAnyWorkload(peer, services)));
  check(Boolean(np) && (np.spec.policyTypes ?? []).includes("Egress") && rules.every(allowed),
    `${where}: NetworkPolicy egress only to the database, DNS and presence's services`, JSON.stringify(rules));
  check(rules.some((r) => (r.to ?? []).some((p) => selectsAnyWorkload(p, dbs)) &&
    (r.ports ?? []).some((p) => String(p.port) === "5432")),
  `${where}: NetworkPolicy lets it reach the database (5432)`);
}

// --store/--store_read: libpq URIs over every database member by its stable
// name, the password not in them (PGPASSWORD/PGPASSFILE from a Secret).
function storeFlagsPolicy(cw, c, flags, byKind) {
  const members = new Set();
  for (const db of databases(byKind)) {
    for (let i = 0; i < db.spec.replicas; i++) members.add(`${db.metadata.name}-${i}.${db.spec.serviceName}:5432`);
  }
  for (const [flag, attrs] of [["store", "read-write"], ["store_read", "prefer-standby"]]) {
    const v = flags.get(flag) ?? "";
    const m = /^postgresql:\/\/([^@/]+)@([^/]+)\/([^?]+)\?(.*)$/.exec(v);
    const hosts = m ? m[2].split(",") : [];
    check(Boolean(m) && !m[1].includes(":") && !/password=/i.test(m[4]) &&
      new URLSearchParams(m[4]).get("target_session_attrs") === attrs &&
      hosts.length === members.size && hosts.every((h) => members.has(h)),
    `${cw}: --${flag} names every database member (${members.size}), target_session_attrs=${attrs}, no password`, v);
  }
  const pw = (c.env ?? []).find((e) => e.name === "PGPASSWORD" || e.name === "PGPASSFILE");
  check(Boolean(pw?.valueFrom?.secretKeyRef) ||
    (pw?.name === "PGPASSFILE" && (c.volumeMounts ?? []).some((m) => pw.value?.startsWith(m.mountPath))),
  `${cw}: the database password from a Secret (PGPASSWORD or PGPASSFILE)`);
}

function databasePolicy(w, where, labels, byKind) {
  const spec = podTemplate(w).spec;
  check(w.kind === "StatefulSet" && w.spec.replicas >= 3, `${where}: a StatefulSet of at least 3 members`);
  check((w.spec.volumeClaimTemplates ?? []).length === 1, `${where}: a volumeClaimTemplate for its data`);
  const headless = (byKind.Service ?? []).find((s) => s.metadata.name === w.spec.serviceName);
  check(headless?.spec.clusterIP === "None" && headless.spec.publishNotReadyAddresses === true &&
    selects(headless.spec.selector, labels),
  `${where}: serviceName is a headless Service selecting its pods, names published while not ready`);
  const anti = spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  check(anti.some((a) => a.topologyKey === "kubernetes.io/hostname" && selects(a.labelSelector?.matchLabels, labels)),
    `${where}: never two members on one node (required pod anti-affinity on kubernetes.io/hostname)`);
  const pdb = pdbOf(labels, byKind);
  check(pdb?.spec.minAvailable >= 2 && pdb.spec.minAvailable < w.spec.replicas,
    `${where}: a PodDisruptionBudget that protects (minAvailable >= 2, below the members)`, JSON.stringify(pdb?.spec));
  const np = ownNetworkPolicy(labels, byKind);
  check(Boolean(np) && ["Ingress", "Egress"].every((t) => (np.spec.policyTypes ?? []).includes(t)) &&
    (np.spec.ingress ?? []).every((r) => (r.from ?? []).length > 0 && (r.ports ?? []).length > 0 &&
      r.from.every((peer) => peerIsPodsOrDns(peer) && !peer.namespaceSelector)),
  `${where}: NetworkPolicy ingress only from pods of this namespace, on named ports`, JSON.stringify(np?.spec.ingress));
}

// The ServiceAccount is bound only to Roles (no ClusterRoles) that grant
// endpoints and pods, nothing else (no secrets, no wildcards).
function namespacedRoleOnly(saName, byKind) {
  if ((byKind.ClusterRole ?? []).length || (byKind.ClusterRoleBinding ?? []).length) return false;
  const bindings = (byKind.RoleBinding ?? []).filter((b) =>
    (b.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === saName));
  if (bindings.length === 0) return false;
  return bindings.every((b) => {
    if (b.roleRef?.kind !== "Role") return false;
    const role = (byKind.Role ?? []).find((r) => r.metadata.name === b.roleRef.name);
    return Boolean(role) && (role.rules ?? []).every((rule) =>
      (rule.apiGroups ?? []).every((g) => g === "") &&
      (rule.resources ?? []).every((r) => ["endpoints", "pods"].includes(r)) &&
      !(rule.verbs ?? []).includes("*"));
  });
}

// ---- Main ------------------------------------------------------------------

const outIdx = process.argv.indexOf("--out");
const outDir = outIdx > 0 ? process.argv[outIdx + 1] : null;
if (outDir) mkdirSync(outDir, { recursive: true });

for (const [name, opts] of Object.entries(overlays)) {
  phase = "schema";
  const dir = name === "base" ? join(k8sDir, "base") : join(k8sDir, "overlays", name);
  let rendered;
  try {
    rendered = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    check(false, `${name}: kubectl kustomize renders`, String(e.stderr ?? e.message).trim());
    continue;
  }
  if (outDir) writeFileSync(join(outDir, `${name}.yaml`), rendered);
  const objs = yaml.loadAll(rendered).filter(Boolean);
  check(objs.length > 0, `${name}: kubectl kustomize renders ${objs.length} objects`);
  for (const o of objs) {
    const errors = await schemaErrors(o);
    check(errors.length === 0, `${name}: ${o.apiVersion} ${o.kind}/${o.metadata?.name} valid against the schema`,
      errors.join("; "));
  }
  phase = "policy";
  policy(name, objs, opts);
}

// Objects outside the kustomizations: the optional ServiceMonitor (needs
// its CRD) and the one-off restore pod (restricted like the services, but
// without probes: it only waits for `kubectl exec`).
for (const file of ["overlays/production/optional/servicemonitor.yaml", "restore/pod.yaml"]) {
  for (const o of yaml.loadAll(readFileSync(join(k8sDir, file), "utf8")).filter(Boolean)) {
    phase = "schema";
    const errors = await schemaErrors(o);
    check(errors.length === 0, `${file}: ${o.apiVersion} ${o.kind}/${o.metadata?.name} valid against the schema`,
      errors.join("; "));
    phase = "policy";
    if (o.kind === "Pod") {
      const psc = o.spec.securityContext ?? {};
      check(o.spec.automountServiceAccountToken === false && psc.runAsNonRoot === true && psc.runAsUser === 10001 &&
        o.spec.containers.every((c) => c.securityContext?.allowPrivilegeEscalation === false &&
          c.securityContext?.readOnlyRootFilesystem === true &&
          (c.securityContext?.capabilities?.drop ?? []).includes("ALL") && !imageOk(c.image) &&
          quantity(c.resources?.limits?.memory) > 0),
      `${file}: restricted securityContext, limits, pinned image, no token`);
    }
  }
}

// The validator itself: each known-bad overlay must fail on every planted
// fault (with the options of the overlay it is derived from).
const knownBad = [
  ["bad", {}, [
    "readOnlyRootFileSystem: unknown field", // a typo the API server would refuse
    "pinned (tag, not latest)",            // :latest
    "native gRPC startup/readiness/liveness probes",
    "requests and limits",
    "restricted securityContext",          // allowPrivilegeEscalation: true
    "terminationGracePeriodSeconds 5",
    "one replica",
    "runs its binary as PID 1 (no shell)",
    "no host namespaces",
    "no token automount",
  ]],
  ["bad-ha", overlays.ha, [
    "presence-registry: at least 3 replicas",
    "presence-registry: topologySpreadConstraints over nodes",
    "presence-registry: a HorizontalPodAutoscaler on CPU",
    "presence-registry: NetworkPolicy egress only to the database",
    "presence-timeline: a PodDisruptionBudget that protects",
    "presence-timeline container timeline: env PGPASSWORD comes from a Secret",
    "presence-timeline container timeline: --store names every database member", // a password in it
    "presence-postgres: never two members on one node",
    "presence-postgres: own ServiceAccount; its token (Patroni's DCS) bound only to a namespaced Role",
  ]],
];
phase = "policy";
for (const [dir, opts, planted] of knownBad) {
  let badRendered = null;
  try {
    badRendered = execFileSync("kubectl", ["kustomize", join(here, dir)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    check(false, `the known-bad overlay (deploy/test/${dir}) renders`, String(e.stderr ?? e.message).trim());
    continue;
  }
  const objs = yaml.loadAll(badRendered).filter(Boolean);
  collect = [];
  for (const o of objs) {
    const errors = await schemaErrors(o);
    check(errors.length === 0, `${o.kind}/${o.metadata?.name} schema`, errors.join("; "));
  }
  policy(dir, objs, opts);
  const failures = collect;
  collect = null;
  phase = "policy";
  for (const p of planted) {
    check(failures.some((f) => f.includes(p)), `the validator rejects the known-bad overlay ${dir}: ${p}`);
  }
}

const passed = counts.schema.passed + counts.policy.passed;
const failed = counts.schema.failed + counts.policy.failed;
console.log(`validate schema: ${counts.schema.passed} passed, ${counts.schema.failed} failed`);
console.log(`validate policy: ${counts.policy.passed} passed, ${counts.policy.failed} failed`);
console.log(`validate: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
