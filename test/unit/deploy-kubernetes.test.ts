/**
 * The Kubernetes example (`deploy/kubernetes/*.yaml`): every object is checked against the Kubernetes API schema
 * (kubernetes-models' validators: types, required fields, enums) and for fields the schema does not know (a typo
 * such as `imagePullPolcy` would be silently dropped by the API server: kubernetes-models' validators accept unknown
 * keys, so the test records which keys the validator reads and fails on the others). Then the wiring: probes on the
 * routes that exist, env from the Secret and ConfigMap defined here, the HPA on the worker Deployment with the metric
 * the adapter rules produce and docs/production.md names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const dir = join(root, 'deploy', 'kubernetes');

/** Model classes by `apiVersion/kind`: an object of another kind fails the test. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: any;
}

/** Every document of every YAML file: `{file, object}`. */
function manifests(): Array<{ file: string; object: K8sObject }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
        expect(doc.errors, file).toEqual([]);
        return { file, object: doc.toJS() as K8sObject };
      }),
    );
}

/**
 * Validates `object` with its kubernetes-models class and returns the paths of keys the schema does not know.
 * The validator reads every property its schema declares (`data.<name>`) and enumerates maps (labels, data, ...);
 * a key it neither read nor enumerated is unknown to the schema.
 * @throws the validator's error for wrong types, missing required fields or values outside an enum.
 */
function validateStrict(object: K8sObject): string[] {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  const model = new Model(object);
  const seen = new Map<object, { read: Set<PropertyKey>; enumerated: boolean; path: string }>();
  const wrap = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const record = { read: new Set<PropertyKey>(), enumerated: false, path };
    seen.set(value, record);
    const children = new Map<PropertyKey, unknown>();
    return new Proxy(value, {
      get(target, key, receiver) {
        record.read.add(key);
        const child = Reflect.get(target, key, receiver);
        if (child === null || typeof child !== 'object') return child;
        if (!children.has(key)) children.set(key, wrap(child, `${path}.${String(key)}`));
        return children.get(key);
      },
      has(target, key) {
        record.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        record.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
  };
  // The model's own data, as `validate()` would check it, seen through the recording proxy.
  model.validate.call(wrap(JSON.parse(JSON.stringify(model)), object.kind));
  const unknown: string[] = [];
  for (const [target, record] of seen) {
    if (Array.isArray(target) || record.enumerated) continue;
    for (const key of Object.keys(target)) if (!record.read.has(key)) unknown.push(`${record.path}.${key}`);
  }
  // Top level: the validator checks apiVersion/kind/metadata/spec...; the model adds nothing else.
  return unknown;
}

const all = manifests();
const find = (kind: string, name: string) => {
  const hit = all.find(({ object }) => object.kind === kind && object.metadata.name === name);
  if (!hit) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return hit.object;
};

describe('deploy/kubernetes', () => {
  it('holds the worker and API Deployments, the Service, the HPA, the config and the adapter rules', () => {
    expect(all.map(({ object }) => `${object.kind}/${object.metadata.name}`).sort()).toEqual([
      'ConfigMap/stepwise-config',
      'ConfigMap/stepwise-prometheus-adapter-rules',
      'Deployment/stepwise-api',
      'Deployment/stepwise-worker',
      'HorizontalPodAutoscaler/stepwise-worker',
      'Secret/stepwise-secrets',
      'Service/stepwise-api',
    ]);
  });

  it.each(all.map(({ file, object }) => [`${file}: ${object.kind} ${object.metadata.name}`, object] as const))(
    'is a valid Kubernetes object with no unknown field: %s',
    (_name, object) => {
      expect(validateStrict(object)).toEqual([]);
    },
  );

  it('fails on a wrong field: a misspelled key, a wrong type, a missing required field, a value outside an enum', () => {
    const worker = () => structuredClone(find('Deployment', 'stepwise-worker'));
    const typo = worker();
    typo.spec.template.spec.containers[0].imagePullPolcy = 'Always';
    expect(validateStrict(typo)).toEqual(['Deployment.spec.template.spec.containers.0.imagePullPolcy']);
    const nested = worker();
    nested.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/x';
    expect(validateStrict(nested)).toEqual(['Deployment.spec.template.spec.containers.0.livenessProbe.httpGet.paht']);

    const wrongType = worker();
    wrongType.spec.replicas = 'two';
    expect(() => validateStrict(wrongType)).toThrow(/replicas must be integer/);
    const missing = worker();
    delete missing.spec.selector;
    expect(() => validateStrict(missing)).toThrow(/selector/);
    const badEnum = worker();
    badEnum.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
    expect(() => validateStrict(badEnum)).toThrow(/must be equal to one of the allowed values/);
    const hpa = structuredClone(find('HorizontalPodAutoscaler', 'stepwise-worker'));
    delete hpa.spec.scaleTargetRef.name;
    expect(() => validateStrict(hpa)).toThrow(/name/);
  });

  it('wires the pieces: selectors, probes on real routes, env from the config defined here, metrics ports', () => {
    const config = find('ConfigMap', 'stepwise-config');
    const secret = find('Secret', 'stepwise-secrets');
    for (const name of ['stepwise-api', 'stepwise-worker']) {
      const d = find('Deployment', name);
      expect(d.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': name });
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
      const [container] = d.spec.template.spec.containers;
      expect(container.envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }, { secretRef: { name: secret.metadata.name } }]);
    }
    const api = find('Deployment', 'stepwise-api').spec.template.spec.containers[0];
    expect(api.command).toEqual(['stepwise', 'api']);
    expect(api.readinessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(api.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(api.env).toEqual(expect.arrayContaining([{ name: 'STEPWISE_API_METRICS', value: 'true' }]));
    const worker = find('Deployment', 'stepwise-worker').spec.template.spec.containers[0];
    expect(worker.command).toEqual(['stepwise', 'worker']);
    expect(worker.env).toEqual([{ name: 'STEPWISE_WORKER_METRICS_ADDRESS', value: '0.0.0.0:9464' }]);
    expect(worker.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    expect(worker.livenessProbe.httpGet).toEqual({ path: '/metrics', port: 'metrics' });
    const service = find('Service', 'stepwise-api');
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'stepwise-api' });
    expect(service.spec.ports[0].targetPort).toBe('http');
    // Secrets hold what the docs say is secret; the rate limit store is among them.
    expect(Object.keys(secret.stringData)).toEqual(expect.arrayContaining(['DATABASE_URL', 'STEPWISE_API_KEYS', 'STEPWISE_RATE_LIMIT_REDIS_URL']));
    expect(config.data.STEPWISE_TASK_QUEUE).toBe('stepwise-sessions');
  });

  it('scales the worker Deployment on the metrics the adapter rules derive from the Core SDK series', () => {
    const hpa = find('HorizontalPodAutoscaler', 'stepwise-worker');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'stepwise-worker' });
    const names = hpa.spec.metrics.map((m: any) => (m.type === 'External' ? m.external.metric.name : m.pods.metric.name));
    expect(names).toEqual(['stepwise_workflow_task_schedule_to_start_p95_seconds', 'stepwise_worker_workflow_slots_used_ratio']);
    expect(hpa.spec.metrics[0].external.metric.selector.matchLabels.task_queue).toBe(find('ConfigMap', 'stepwise-config').data.STEPWISE_TASK_QUEUE);
    const rules = parse(find('ConfigMap', 'stepwise-prometheus-adapter-rules').data['config.yaml']);
    expect(rules.externalRules.map((r: any) => r.name.as)).toEqual([names[0]]);
    expect(rules.rules.map((r: any) => r.name.as)).toEqual([names[1]]);
    expect(rules.externalRules[0].seriesQuery).toContain('temporal_workflow_task_schedule_to_start_latency_bucket');
    expect(rules.rules[0].seriesQuery).toContain('temporal_worker_task_slots_used');
    const docs = readFileSync(join(root, 'docs', 'production.md'), 'utf8');
    for (const name of [...names, 'temporal_workflow_task_schedule_to_start_latency', 'temporal_worker_task_slots_used']) expect(docs).toContain(name);
  });
});
