import { ServiceMonitor, type IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { readYaml, readYamlDocuments } from './repo-files.js';

export const K8S_DIR = 'deploy/kubernetes';
/** Listed nowhere in kustomization.yaml on purpose: its values are placeholders. */
export const SECRET_EXAMPLE = 'secret.example.yaml';

export interface Kustomization {
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
}

export interface LoadedObject {
  file: string;
  object: KubernetesObject;
}

/** Schema validators (the Kubernetes and Prometheus Operator OpenAPI schemas) by apiVersion/kind. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

export function validateAgainstSchema(object: KubernetesObject): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`no schema known for ${object.apiVersion} ${object.kind}`);
  new Model(object as never).validate();
}

export interface KubernetesManifests {
  kustomization: Kustomization;
  /** Every object of the kustomization's resources, plus the Secret example. */
  objects: LoadedObject[];
  deployment: IDeployment;
  service: IService;
  configMap: IConfigMap;
  secret: ISecret;
  pdb: IPodDisruptionBudget;
  hpa: IHorizontalPodAutoscaler;
  serviceMonitor: IServiceMonitor;
}

export function loadKubernetesManifests(): KubernetesManifests {
  const kustomization = readYaml<Kustomization>(K8S_DIR, 'kustomization.yaml');
  const objects: LoadedObject[] = [];
  for (const file of [...kustomization.resources, SECRET_EXAMPLE]) {
    for (const doc of readYamlDocuments(K8S_DIR, file)) objects.push({ file, object: doc as KubernetesObject });
  }
  const only = <T>(kind: string): T => {
    const found = objects.filter((o) => o.object.kind === kind);
    if (found.length !== 1) throw new Error(`expected exactly one ${kind} in ${K8S_DIR}, found ${found.length}`);
    return found[0].object as T;
  };
  return {
    kustomization,
    objects,
    deployment: only<IDeployment>('Deployment'),
    service: only<IService>('Service'),
    configMap: only<IConfigMap>('ConfigMap'),
    secret: only<ISecret>('Secret'),
    pdb: only<IPodDisruptionBudget>('PodDisruptionBudget'),
    hpa: only<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler'),
    serviceMonitor: only<IServiceMonitor>('ServiceMonitor'),
  };
}

/** True when every label of `selector` is on `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
