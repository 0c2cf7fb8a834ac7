import { readFile } from 'node:fs/promises';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { parseDocument, type YAMLError } from 'yaml';
import { interpolateTree } from './env-interpolation.js';
import {
  DEFAULT_HTTP,
  DEFAULT_REDIS,
  DEFAULT_SHUTDOWN_GRACE_MS,
  LIMIT_NAMES,
  deepFreeze,
  sha256Hex,
  type GatewayConfig,
  type KeyPool,
  type LimitName,
  type Limits,
  type Provider,
  type ProviderKey,
  type Service,
  type StateSettings,
  type User,
} from './gateway-config.js';
import { DEFAULT_COOLDOWN_MS, defaultAuthCooldownMs } from '../pools/key-cooldown.js';
import { GatewayConfigDto, isOAuthKey, type KeyPoolDto, type LimitsDto } from './gateway-config.schema.js';

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

/** Parses, interpolates and validates a config file's text. Never throws: every problem is an error line. */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  try {
    return parseValidated(text, env);
  } catch (err) {
    return { ok: false, errors: [`config could not be loaded: ${describe(err)}`] };
  }
}

function parseValidated(text: string, env: NodeJS.ProcessEnv): LoadResult {
  if (text.trim() === '') return { ok: false, errors: ['config file is empty'] };
  const parsed = parseYaml(text);
  if (!parsed.ok) return parsed;
  if (!isMapping(parsed.value)) {
    return { ok: false, errors: ['config must be a YAML mapping with providers and users'] };
  }
  const { value, issues } = interpolateTree(parsed.value, env);
  const unresolved = new Set(issues.map((i) => i.path));
  const errors = issues.map((i) => `${i.path}: ${i.message}`);
  const tree = withoutReservedKeys(value, '', errors) as Record<string, unknown>;

  const dto = plainToInstance(GatewayConfigDto, tree);
  const validation = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  const schemaIssues = validationIssues(validation);
  // A value still holding an unset variable is already reported as such.
  for (const issue of schemaIssues) if (!unresolved.has(issue.path)) errors.push(`${issue.path}: ${issue.message}`);
  errors.push(...crossCheck(tree));
  if (schemaIssues.length === 0) {
    for (const validator of sectionValidators) {
      try {
        errors.push(...validator(dto));
      } catch (err) {
        errors.push(`config section check failed: ${describe(err)}`);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: buildSnapshot(dto, sha256Hex(text).slice(0, 12)) };
}

function parseYaml(text: string): { ok: true; value: unknown } | { ok: false; errors: string[] } {
  // logLevel 'error': a mapping used as a key is reported as an unknown field, not as a console warning.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) return { ok: false, errors: doc.errors.map((e) => yamlError(e, text)) };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (err) {
    // e.g. too many aliases: a "billion laughs" document.
    return { ok: false, errors: [`YAML: ${describe(err)}`] };
  }
}

function yamlError(error: YAMLError, text: string): string {
  const at = error.linePos?.[0];
  const where = at ? `YAML line ${at.line}, column ${at.col}` : 'YAML';
  if (error.code === 'DUPLICATE_KEY') {
    // The error points at the second key's first character; read the key from there.
    const key = /^(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:,{}[\]\n]*)/.exec(text.slice(error.pos[0]))?.[0].trim();
    return `${where}: duplicate key${key ? ` ${key}` : ''}`;
  }
  if (error.code === 'MULTIPLE_DOCS') return `${where}: a config file holds one YAML document; remove the "---" separator`;
  return `${where}: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`;
}

/**
 * class-transformer silently drops `__proto__` and `constructor` keys (and crashes on an own
 * `constructor`): report them as errors and remove them before it runs.
 */
function withoutReservedKeys(node: unknown, path: string, errors: string[]): unknown {
  if (Array.isArray(node)) return node.map((item, i) => withoutReservedKeys(item, `${path}[${i}]`, errors));
  if (!isMapping(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node)) {
    const at = path ? `${path}.${key}` : key;
    if (RESERVED_KEYS.has(key)) errors.push(`${at}: ${JSON.stringify(key)} is a reserved name`);
    else out[key] = withoutReservedKeys(child, at, errors);
  }
  return out;
}
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

interface SchemaIssue {
  path: string;
  message: string;
}

/** A value of the wrong type gets one message, and what's inside it isn't checked further. */
const TYPE_MESSAGES: Readonly<Record<string, string>> = {
  isString: 'must be a string',
  isInt: 'must be an integer',
  isBoolean: 'must be true or false',
  isArray: 'must be a list',
  isObject: 'must be a mapping',
  nestedValidation: 'must be a mapping',
  unknownValue: 'must be a mapping',
};

/** class-validator's error tree → one line per problem, each with the path of the value it is about. */
export function validationIssues(errors: ValidationError[], parent = '', parentIsList = false): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  for (const error of errors) {
    const path =
      error.property === undefined
        ? parent
        : parentIsList
          ? `${parent}[${error.property}]`
          : parent
            ? `${parent}.${error.property}`
            : error.property;
    const constraints = Object.entries(error.constraints ?? {});
    if (constraints.some(([rule]) => rule === 'whitelistValidation')) {
      out.push({ path, message: 'unknown field' });
      continue;
    }
    if (constraints.length > 0 && error.value == null && !parentIsList && error.property !== undefined) {
      out.push({ path, message: 'is required' });
      continue;
    }
    const typeError = constraints.find(([rule]) => Object.hasOwn(TYPE_MESSAGES, rule));
    if (typeError) {
      out.push({ path, message: TYPE_MESSAGES[typeError[0]] });
      continue;
    }
    for (const [, message] of constraints) out.push({ path, message: stripProperty(message, error.property) });
    if (error.children?.length) out.push(...validationIssues(error.children, path, Array.isArray(error.value)));
  }
  return out;
}

/** class-validator's default messages start with the property name, which the path already says. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

/**
 * Uniqueness and references between sections. It reads the unvalidated tree defensively, so its
 * errors come together with the schema's instead of one round later.
 */
function crossCheck(config: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const providers = new Map<string, Record<string, unknown>>();
  // With a provider whose name is unreadable, "not a provider" could be wrong: the schema error says enough.
  const allProvidersNamed =
    Array.isArray(config.providers) && config.providers.every((p) => isMapping(p) && typeof p.name === 'string');
  const hasRedis = isMapping(config.state) && config.state.redis != null;
  listOf(config.providers).forEach((p, i) => {
    if (!isMapping(p)) return;
    if (!hasRedis && isMapping(p.apiKeys)) {
      for (const [name, key] of Object.entries(p.apiKeys)) {
        if (isOAuthKey(key) && key.credentialsFile === undefined) {
          errors.push(`providers[${i}].apiKeys.${name}.credentialsFile: is required without state.redis (where the credentials would live)`);
        }
      }
    }
    if (typeof p.name === 'string') {
      if (providers.has(p.name)) errors.push(`providers[${i}].name: duplicate provider name ${JSON.stringify(p.name)}`);
      else providers.set(p.name, p);
    }
    errors.push(...checkKeyPools(p, `providers[${i}]`));
    const types = new Set<string>();
    listOf(p.services).forEach((s, j) => {
      if (!isMapping(s) || typeof s.type !== 'string') return;
      if (types.has(s.type)) {
        errors.push(`providers[${i}].services[${j}].type: duplicate service type ${JSON.stringify(s.type)}`);
      }
      types.add(s.type);
    });
  });
  const names = new Set<string>();
  const digests = new Set<string>();
  listOf(config.users).forEach((u, i) => {
    if (!isMapping(u)) return;
    const at = `users[${i}]`;
    if (typeof u.name === 'string') {
      if (names.has(u.name)) errors.push(`${at}.name: duplicate user name ${JSON.stringify(u.name)}`);
      names.add(u.name);
    }
    // YAML's empty value (null) counts as absent, as it does for class-validator's @IsOptional.
    if ((u.apiKey == null) === (u.apiKeyHash == null)) {
      errors.push(`${at}: exactly one of apiKey or apiKeyHash is required`);
    } else {
      const digest = userKeyDigest(u);
      if (digest !== undefined && digests.has(digest)) {
        errors.push(`${at}.${u.apiKey != null ? 'apiKey' : 'apiKeyHash'}: duplicate user key`);
      }
      if (digest !== undefined) digests.add(digest);
    }
    if (typeof u.providerName !== 'string' || !allProvidersNamed) return;
    const provider = providers.get(u.providerName);
    if (!provider) {
      errors.push(`${at}.providerName: ${JSON.stringify(u.providerName)} is not a provider`);
      return;
    }
    // A pool goes where a key goes.
    const pools = isMapping(provider.keyPools) ? provider.keyPools : {};
    if (
      typeof u.providerKeyName === 'string' &&
      isMapping(provider.apiKeys) &&
      !Object.hasOwn(provider.apiKeys, u.providerKeyName) &&
      !Object.hasOwn(pools, u.providerKeyName)
    ) {
      const what = Object.keys(pools).length > 0 ? 'a key or key pool' : 'a key';
      errors.push(`${at}.providerKeyName: ${JSON.stringify(u.providerKeyName)} is not ${what} of provider ${JSON.stringify(u.providerName)}`);
    }
  });
  return errors;
}

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Pool names beside key names (one namespace), members that are keys of the same provider, each once. */
function checkKeyPools(provider: Record<string, unknown>, at: string): string[] {
  if (!isMapping(provider.keyPools)) return [];
  const errors: string[] = [];
  const keys = isMapping(provider.apiKeys) ? provider.apiKeys : undefined;
  const providerName = typeof provider.name === 'string' ? ` of provider ${JSON.stringify(provider.name)}` : '';
  for (const [name, pool] of Object.entries(provider.keyPools)) {
    const poolAt = `${at}.keyPools.${name}`;
    if (!KEY_NAME.test(name)) errors.push(`${poolAt}: ${JSON.stringify(name)} is not a valid name (letters, digits, ".", "_", "-")`);
    if (keys && Object.hasOwn(keys, name)) {
      errors.push(`${poolAt}: ${JSON.stringify(name)} is also a key name; pools and keys share one namespace`);
    }
    if (!keys || !isMapping(pool) || !Array.isArray(pool.keys)) continue;
    const seen = new Set<string>();
    pool.keys.forEach((member: unknown, j) => {
      if (typeof member !== 'string') return;
      const memberAt = `${poolAt}.keys[${j}]`;
      if (seen.has(member)) errors.push(`${memberAt}: ${JSON.stringify(member)} is listed twice`);
      seen.add(member);
      if (Object.hasOwn(keys, member)) return;
      const isPool = isMapping(provider.keyPools) && Object.hasOwn(provider.keyPools, member);
      errors.push(`${memberAt}: ${JSON.stringify(member)} ${isPool ? 'is a pool; a pool lists keys only' : `is not a key${providerName}`}`);
    });
  }
  return errors;
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const KEY_HASH = /^sha256:[0-9a-f]{64}$/;

/** sha256 of the user's key as hex, from `apiKey` or `apiKeyHash`; undefined while neither is valid. */
function userKeyDigest(user: Record<string, unknown>): string | undefined {
  if (typeof user.apiKey === 'string') return sha256Hex(user.apiKey);
  if (typeof user.apiKeyHash === 'string' && KEY_HASH.test(user.apiKeyHash)) return user.apiKeyHash.slice('sha256:'.length);
  return undefined;
}

function buildSnapshot(dto: GatewayConfigDto, hash: string): GatewayConfig {
  const providers = new Map<string, Provider>();
  for (const p of dto.providers) {
    const apiKeys = new Map<string, ProviderKey>();
    for (const [name, value] of Object.entries(p.apiKeys)) {
      apiKeys.set(
        name,
        isOAuthKey(value)
          ? { kind: 'oauth', name, provider: p.name, oauth: value.oauth, credentialsFile: value.credentialsFile ?? undefined }
          : { kind: 'static', name, value },
      );
    }
    const keyPools = new Map<string, KeyPool>();
    for (const [name, pool] of p.keyPools ?? []) keyPools.set(name, keyPool(name, p.name, pool, apiKeys));
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
      keyPools,
      services,
      llm: p.llm
        ? {
            provider: p.llm.provider,
            api: p.llm.api ?? undefined,
            baseUrl: p.llm.baseUrl ?? undefined,
            defaultModel: p.llm.defaultModel ?? undefined,
            headers: { ...(p.llm.headers ?? {}) },
          }
        : undefined,
    });
  }
  const users: User[] = [];
  const usersByKeyDigest = new Map<string, User>();
  const defaultLimits = mergeLimits({}, dto.limits);
  for (const u of dto.users) {
    const provider = providers.get(u.providerName) as Provider;
    const digest = userKeyDigest(u as unknown as Record<string, unknown>) as string;
    const pool = provider.keyPools?.get(u.providerKeyName);
    const user: User = {
      name: u.name,
      keyDigest: Buffer.from(digest, 'hex'),
      provider,
      key: pool ? pool.keys[0] : (provider.apiKeys.get(u.providerKeyName) as ProviderKey),
      ...(pool ? { pool } : {}),
      limits: mergeLimits(defaultLimits, u.limits),
    };
    users.push(user);
    usersByKeyDigest.set(digest, user);
  }
  return deepFreeze({
    hash,
    listen: dto.listen ?? undefined,
    http: { ...DEFAULT_HTTP, ...withoutEmpty(dto.http ?? {}) },
    logging: {
      level: dto.logging?.level ?? 'info',
      conversation: dto.logging?.conversation ?? false,
      conversationFile: dto.logging?.conversationFile ?? undefined,
      maxQueueSize: dto.logging?.maxQueueSize ?? 1000,
    },
    demo: dto.demo ?? false,
    shutdownGraceMs: dto.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    state: stateSettings(dto),
    providers,
    users,
    usersByKeyDigest,
    models: { ...(dto.models ?? {}) },
  });
}

function keyPool(name: string, provider: string, dto: KeyPoolDto, apiKeys: ReadonlyMap<string, ProviderKey>): KeyPool {
  const cooldownMs = dto.cooldownMs ?? DEFAULT_COOLDOWN_MS;
  return {
    name,
    provider,
    keys: dto.keys.map((member) => apiKeys.get(member) as ProviderKey),
    strategy: dto.strategy ?? 'round-robin',
    cooldownMs,
    authCooldownMs: dto.authCooldownMs ?? defaultAuthCooldownMs(cooldownMs),
  };
}

/**
 * `base` overridden field by field: a number replaces, `null` removes (a user without a default
 * limit), an absent field keeps the base's. At the top level `null` is simply no limit.
 */
function mergeLimits(base: Limits, overrides: LimitsDto | undefined): Limits {
  const merged: Partial<Record<LimitName, number>> = { ...base };
  for (const name of LIMIT_NAMES) {
    if (!overrides || !Object.hasOwn(overrides, name) || overrides[name] === undefined) continue;
    const value = overrides[name];
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

function stateSettings(dto: GatewayConfigDto): StateSettings {
  const redis = dto.state?.redis;
  if (!redis) return {};
  return { redis: { url: redis.url, ...DEFAULT_REDIS, ...withoutEmpty({ keyPrefix: redis.keyPrefix, commandTimeoutMs: redis.commandTimeoutMs, onError: redis.onError }) } };
}

/** Drops unset settings, including YAML's empty value (`maxBodyBytes:`), so their defaults apply. */
function withoutEmpty<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v != null)) as Partial<T>;
}
