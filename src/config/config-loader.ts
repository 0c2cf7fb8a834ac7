import { readFile } from 'node:fs/promises';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { parseDocument } from 'yaml';
import { interpolateTree } from './env-interpolation.js';
import {
  DEFAULT_HTTP,
  DEFAULT_SHUTDOWN_GRACE_MS,
  deepFreeze,
  sha256Hex,
  type GatewayConfig,
  type Provider,
  type ProviderKey,
  type Service,
  type User,
} from './gateway-config.js';
import { GatewayConfigDto, isOAuthKey } from './gateway-config.schema.js';

export type LoadResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[] };

/** Validators for config sections owned by other features (e.g. the model map). */
export type SectionValidator = (dto: GatewayConfigDto) => string[];
const sectionValidators: SectionValidator[] = [];
export function registerSectionValidator(validator: SectionValidator): void {
  sectionValidators.push(validator);
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`] };
  }
  return parseConfig(text, env);
}

export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  if (text.trim() === '') return { ok: false, errors: ['config file is empty'] };
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`) };
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: ['config must be a YAML mapping with providers and users'] };
  }
  const { value, issues } = interpolateTree(raw, env);
  const errors = issues.map((i) => `${i.path}: ${i.message}`);

  const dto = plainToInstance(GatewayConfigDto, value);
  const validation = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  errors.push(...flattenValidationErrors(validation));
  if (errors.length > 0) return { ok: false, errors };

  errors.push(...crossCheck(dto));
  for (const validator of sectionValidators) errors.push(...validator(dto));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: buildSnapshot(dto, sha256Hex(text).slice(0, 12)) };
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): string[] {
  const out: string[] = [];
  for (const error of errors) {
    const path = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent
        ? `${parent}.${error.property}`
        : error.property;
    for (const [rule, message] of Object.entries(error.constraints ?? {})) {
      out.push(`${path}: ${rule === 'whitelistValidation' ? 'unknown field' : stripProperty(message, error.property)}`);
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, path));
  }
  return out;
}

/** class-validator's default messages start with the property name, which the path already says. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

function crossCheck(dto: GatewayConfigDto): string[] {
  const errors: string[] = [];
  const providers = new Map<string, number>();
  dto.providers.forEach((p, i) => {
    if (providers.has(p.name)) errors.push(`providers[${i}].name: duplicate provider name ${JSON.stringify(p.name)}`);
    else providers.set(p.name, i);
    const types = new Set<string>();
    (p.services ?? []).forEach((s, j) => {
      if (types.has(s.type)) errors.push(`providers[${i}].services[${j}].type: duplicate service type ${JSON.stringify(s.type)}`);
      types.add(s.type);
    });
  });
  const names = new Set<string>();
  const digests = new Set<string>();
  dto.users.forEach((u, i) => {
    const at = `users[${i}]`;
    if (names.has(u.name)) errors.push(`${at}.name: duplicate user name ${JSON.stringify(u.name)}`);
    names.add(u.name);
    if ((u.apiKey === undefined) === (u.apiKeyHash === undefined)) {
      errors.push(`${at}: exactly one of apiKey or apiKeyHash is required`);
    } else {
      const digest = userKeyDigest(u.apiKey, u.apiKeyHash);
      if (digests.has(digest)) errors.push(`${at}.${u.apiKey ? 'apiKey' : 'apiKeyHash'}: duplicate user key`);
      digests.add(digest);
    }
    const providerIndex = providers.get(u.providerName);
    if (providerIndex === undefined) {
      errors.push(`${at}.providerName: ${JSON.stringify(u.providerName)} is not a provider`);
      return;
    }
    const provider = dto.providers[providerIndex];
    if (!Object.hasOwn(provider.apiKeys, u.providerKeyName)) {
      errors.push(
        `${at}.providerKeyName: ${JSON.stringify(u.providerKeyName)} is not a key of provider ${JSON.stringify(u.providerName)}`,
      );
    }
  });
  return errors;
}

function userKeyDigest(apiKey: string | undefined, apiKeyHash: string | undefined): string {
  return apiKey !== undefined ? sha256Hex(apiKey) : (apiKeyHash as string).slice('sha256:'.length);
}

function buildSnapshot(dto: GatewayConfigDto, hash: string): GatewayConfig {
  const providers = new Map<string, Provider>();
  for (const p of dto.providers) {
    const apiKeys = new Map<string, ProviderKey>();
    for (const [name, value] of Object.entries(p.apiKeys)) {
      apiKeys.set(
        name,
        isOAuthKey(value)
          ? { kind: 'oauth', name, oauth: value.oauth, credentialsFile: value.credentialsFile }
          : { kind: 'static', name, value },
      );
    }
    const services = new Map<string, Service>();
    for (const s of p.services ?? []) {
      const url = new URL(s.baseUrl);
      const basePath = url.pathname.replace(/\/+$/, '');
      services.set(s.type, {
        type: s.type,
        baseUrl: url.origin + basePath,
        origin: url.origin,
        basePath,
        auth: {
          mode: s.auth?.mode ?? 'header',
          name: s.auth?.name ?? 'authorization',
          prefix: s.auth ? (s.auth.prefix ?? '') : 'Bearer ',
        },
        headers: { ...(s.headers ?? {}) },
      });
    }
    providers.set(p.name, {
      name: p.name,
      apiKeys,
      services,
      llm: p.llm
        ? {
            provider: p.llm.provider,
            api: p.llm.api,
            baseUrl: p.llm.baseUrl,
            defaultModel: p.llm.defaultModel,
            headers: { ...(p.llm.headers ?? {}) },
          }
        : undefined,
    });
  }
  const users: User[] = [];
  const usersByKeyDigest = new Map<string, User>();
  for (const u of dto.users) {
    const provider = providers.get(u.providerName) as Provider;
    const digest = userKeyDigest(u.apiKey, u.apiKeyHash);
    const user: User = {
      name: u.name,
      keyDigest: Buffer.from(digest, 'hex'),
      provider,
      key: provider.apiKeys.get(u.providerKeyName) as ProviderKey,
    };
    users.push(user);
    usersByKeyDigest.set(digest, user);
  }
  return deepFreeze({
    hash,
    listen: dto.listen,
    http: { ...DEFAULT_HTTP, ...stripUndefined(dto.http ?? {}) },
    logging: {
      level: dto.logging?.level ?? 'info',
      conversation: dto.logging?.conversation ?? false,
      conversationFile: dto.logging?.conversationFile,
      maxQueueSize: dto.logging?.maxQueueSize ?? 1000,
    },
    demo: dto.demo ?? false,
    shutdownGraceMs: dto.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    providers,
    users,
    usersByKeyDigest,
    models: { ...(dto.models ?? {}) },
  });
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
