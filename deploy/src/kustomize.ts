import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as parsed from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface Generator {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  literals?: string[];
  type?: string;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  replicas?: Array<{ name: string; count: number }>;
  generatorOptions?: { disableNameSuffixHash?: boolean };
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
}

/**
 * The part of kustomize our kustomizations use, rendered in-process so the manifest tests need no
 * kubectl: resources (files and directories), namespace, labels (metadata only), images, replicas and
 * ConfigMap/Secret generators from literals (create, merge) without name hashes. Anything else in a
 * kustomization is refused, so a manifest can never use a feature this renderer would silently
 * ignore. (`kubectl kustomize deploy/k8s/overlays/local` renders the same objects.)
 */
export function renderKustomization(dir: string): K8sObject[] {
  const file = path.join(dir, 'kustomization.yaml');
  const k = parseDocuments(file)[0] as unknown as Kustomization;
  const known = new Set([
    'apiVersion',
    'kind',
    'namespace',
    'resources',
    'labels',
    'images',
    'replicas',
    'generatorOptions',
    'configMapGenerator',
    'secretGenerator',
  ]);
  for (const key of Object.keys(k))
    if (!known.has(key)) throw new Error(`${file}: "${key}" is not supported by the test renderer`);
  if (
    (k.configMapGenerator?.length || k.secretGenerator?.length) &&
    k.generatorOptions?.disableNameSuffixHash !== true
  ) {
    throw new Error(`${file}: generators need generatorOptions.disableNameSuffixHash: true here`);
  }

  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const target = path.join(dir, resource);
    objects.push(...(statSync(target).isDirectory() ? renderKustomization(target) : parseDocuments(target)));
  }

  for (const generator of k.configMapGenerator ?? []) objects = generate(objects, generator, 'ConfigMap', file);
  for (const generator of k.secretGenerator ?? []) objects = generate(objects, generator, 'Secret', file);

  for (const object of objects) {
    for (const { pairs, includeSelectors } of k.labels ?? []) {
      if (includeSelectors) throw new Error(`${file}: labels.includeSelectors is not supported by the test renderer`);
      object.metadata.labels = { ...(object.metadata.labels ?? {}), ...pairs };
    }
    if (k.namespace && object.kind !== 'Namespace') object.metadata.namespace = k.namespace;
    for (const container of containersOf(object)) {
      const [name, tag] = splitImage(container.image);
      const override = k.images?.find((image) => image.name === name);
      if (override)
        container.image = `${override.newName ?? name}${override.newTag ? `:${override.newTag}` : tag ? `:${tag}` : ''}`;
    }
  }
  for (const { name, count } of k.replicas ?? []) {
    const target = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === name);
    if (!target) throw new Error(`${file}: replicas names no Deployment ${name}`);
    (target['spec'] as { replicas: number }).replicas = count;
  }
  return objects;
}

function generate(objects: K8sObject[], generator: Generator, kind: 'ConfigMap' | 'Secret', file: string): K8sObject[] {
  const data: Record<string, string> = {};
  for (const literal of generator.literals ?? []) {
    const at = literal.indexOf('=');
    if (at <= 0) throw new Error(`${file}: literal "${literal}" is not key=value`);
    data[literal.slice(0, at)] = literal.slice(at + 1);
  }
  const existing = objects.find((object) => object.kind === kind && object.metadata.name === generator.name);
  const behavior = generator.behavior ?? 'create';
  if (behavior === 'create' && existing)
    throw new Error(`${file}: ${kind} ${generator.name} already exists (use behavior: merge)`);
  if (behavior !== 'create' && !existing)
    throw new Error(`${file}: ${kind} ${generator.name} to ${behavior} does not exist`);
  const encode = (values: Record<string, string>) =>
    kind === 'Secret'
      ? Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')]))
      : values;
  if (existing) {
    const previous = (existing['data'] as Record<string, string> | undefined) ?? {};
    existing['data'] = behavior === 'merge' ? { ...previous, ...encode(data) } : encode(data);
    return objects;
  }
  const object: K8sObject = { apiVersion: 'v1', kind, metadata: { name: generator.name }, data: encode(data) };
  if (kind === 'Secret') object['type'] = generator.type ?? 'Opaque';
  return [...objects, object];
}

export function parseDocuments(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => {
      if (document.errors.length > 0)
        throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
      return document.toJS() as K8sObject;
    })
    .filter((object) => object !== null);
}

export interface Container {
  name: string;
  image: string;
  [field: string]: unknown;
}

/** The containers of a Deployment's or Job's pod template. */
export function containersOf(object: K8sObject): Container[] {
  const spec = object['spec'] as
    { template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } } | undefined;
  return [...(spec?.template?.spec?.initContainers ?? []), ...(spec?.template?.spec?.containers ?? [])];
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
}

export interface EnvVarSource {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

interface EnvFromSource {
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

/**
 * The environment a container starts with, resolved against the rendered ConfigMaps and Secrets the
 * way the kubelet does it (envFrom first, then env; a missing non-optional source is an error).
 */
export function containerEnv(container: Container, objects: K8sObject[]): Record<string, string> {
  const data = (
    kind: 'ConfigMap' | 'Secret',
    name: string,
    optional: boolean | undefined,
  ): Record<string, string> | undefined => {
    const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
    if (!object) {
      if (optional) return undefined;
      throw new Error(`${container.name}: ${kind} ${name} does not exist`);
    }
    const values = (object['data'] as Record<string, string> | undefined) ?? {};
    return kind === 'Secret'
      ? Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]))
      : values;
  };
  const env: Record<string, string> = {};
  for (const source of (container['envFrom'] as EnvFromSource[] | undefined) ?? []) {
    const values = source.configMapRef
      ? data('ConfigMap', source.configMapRef.name, source.configMapRef.optional)
      : source.secretRef
        ? data('Secret', source.secretRef.name, source.secretRef.optional)
        : undefined;
    Object.assign(env, values ?? {});
  }
  for (const variable of (container['env'] as EnvVarSource[] | undefined) ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
      continue;
    }
    const ref = variable.valueFrom?.secretKeyRef ?? variable.valueFrom?.configMapKeyRef;
    if (!ref) throw new Error(`${container.name}: env ${variable.name} has neither value nor a supported valueFrom`);
    const values = data(variable.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name, ref.optional);
    const value = values?.[ref.key];
    if (value === undefined && !ref.optional)
      throw new Error(`${container.name}: env ${variable.name} names missing key ${ref.name}/${ref.key}`);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}
