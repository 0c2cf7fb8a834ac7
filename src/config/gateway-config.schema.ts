import 'reflect-metadata';
import { Transform, Type, plainToInstance } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
  registerDecorator,
  type ValidationArguments,
} from 'class-validator';
import { KEY_POOL_STRATEGIES, type KeyPoolStrategy } from '../pools/key-order.js';

/** The YAML file's shape, as class-validator DTOs. Cross-references are checked in config-loader.ts. */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@ -]{0,127}$/;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SERVICE_TYPE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function IsHttpUrl(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isHttpUrl',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => isAbsoluteHttpUrl(value),
        defaultMessage: (args?: ValidationArguments) =>
          `${JSON.stringify(args?.value)} is not an absolute http(s) URL without query, fragment or credentials`,
      },
    });
}

export function isAbsoluteHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.hostname !== '' &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === ''
  );
}

/** A `{ name: value }` mapping whose keys and values match the given rules. */
function IsRecordOf(
  name: string,
  keyPattern: RegExp,
  isValue: (value: unknown) => boolean,
  valueDescription: string,
): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) =>
          isMapping(value) && Object.entries(value).every(([k, v]) => keyPattern.test(k) && isValue(v)),
        defaultMessage: (args?: ValidationArguments) => {
          const value = args?.value as unknown;
          if (!isMapping(value)) return `must be a mapping of names to ${valueDescription}`;
          return Object.entries(value)
            .filter(([k, v]) => !keyPattern.test(k) || !isValue(v))
            .map(([k]) =>
              keyPattern.test(k)
                ? `${JSON.stringify(k)} must be ${valueDescription}`
                : `${JSON.stringify(k)} is not a valid name (letters, digits, ".", "_", "-")`,
            )
            .join('; ');
        },
      },
    });
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function apply(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, propertyName) => decorators.forEach((decorate) => decorate(target, propertyName));
}

/** A nested section. `@IsObject` because class-validator would otherwise accept a list here. */
function Mapping(dto: () => new () => object): PropertyDecorator {
  return apply(IsObject({ message: 'must be a mapping' }), ValidateNested(), Type(dto));
}

/** A list of sections; an item that is not a mapping is reported at its own index. */
function ListOf(dto: () => new () => object): PropertyDecorator {
  return apply(
    IsArray({ message: 'must be a list' }),
    ValidateNested({ each: true }),
    Type(dto),
    // class-validator walks into a list nested in the list as if it were an item (and accepts an
    // empty one); as `null` it is reported as "not a mapping" instead.
    Transform(({ value }: { value: unknown }) =>
      Array.isArray(value) ? value.map((item: unknown) => (Array.isArray(item) ? null : item)) : value,
    ),
  );
}

const isNonEmptyString = (v: unknown) => typeof v === 'string' && v.length > 0;

/** `{ oauth, credentialsFile }`; the file may be left out when `state.redis` holds the credentials (checked in config-loader.ts). */
export function isOAuthKey(v: unknown): v is { oauth: string; credentialsFile?: string } {
  if (!isMapping(v)) return false;
  return (
    Object.keys(v).every((k) => k === 'oauth' || k === 'credentialsFile') &&
    isNonEmptyString(v.oauth) &&
    (v.credentialsFile === undefined || isNonEmptyString(v.credentialsFile))
  );
}

function IsRedisUrl(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isRedisUrl',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => isRedisUrl(value),
        // Never the value: it may hold a password.
        defaultMessage: () => 'must be a redis:// or rediss:// URL with a host (redis://[user:password@]host[:port][/db])',
      },
    });
}

export function isRedisUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' && /^(\/\d*)?$/.test(url.pathname) && url.hash === '';
}

export class ServiceAuthDto {
  @IsIn(['header', 'query'], { message: 'must be "header" or "query"' })
  mode!: 'header' | 'query';

  @IsString()
  @Matches(HEADER_NAME, { message: 'must be a valid header or query parameter name' })
  name!: string;

  @IsOptional()
  @IsString()
  prefix?: string;
}

export class ServiceDto {
  @IsString()
  @Matches(SERVICE_TYPE, { message: 'must be lowercase letters, digits, "_" or "-"' })
  type!: string;

  @IsHttpUrl()
  baseUrl!: string;

  @IsOptional()
  @Mapping(() => ServiceAuthDto)
  auth?: ServiceAuthDto;

  @IsOptional()
  @IsRecordOf('isHeaderMap', HEADER_NAME, (v) => typeof v === 'string', 'a string header value')
  headers?: Record<string, string>;
}

export class LlmDto {
  @IsString()
  @IsNotEmpty()
  provider!: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  api?: string;

  @IsOptional()
  @IsHttpUrl()
  baseUrl?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  defaultModel?: string;

  @IsOptional()
  @IsRecordOf('isHeaderMap', HEADER_NAME, (v) => typeof v === 'string', 'a string header value')
  headers?: Record<string, string>;
}

export class KeyPoolDto {
  @IsArray({ message: 'must be a list of key names' })
  @ArrayNotEmpty({ message: 'must name at least one key' })
  @IsString({ each: true })
  keys!: string[];

  @IsOptional()
  @IsIn(KEY_POOL_STRATEGIES, { message: `must be one of ${KEY_POOL_STRATEGIES.map((s) => `"${s}"`).join(', ')}` })
  strategy?: KeyPoolStrategy;

  @IsOptional()
  @IsInt()
  @Min(1)
  cooldownMs?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  authCooldownMs?: number;
}

/**
 * `{ <pool name>: { keys, ... } }` as a Map of KeyPoolDto: class-validator then reports a
 * pool's fields at `keyPools.<name>.<field>`. Names and members are checked in config-loader.ts.
 */
function PoolMapping(): PropertyDecorator {
  return apply(
    IsObject({ message: 'must be a mapping of pool names to { keys, strategy, cooldownMs }' }),
    ValidateNested(),
    Transform(({ value }: { value: unknown }) =>
      // class-validator would walk into a list as a pool (see ListOf); as a number, it is "not a mapping".
      isMapping(value) ? new Map(Object.entries(value).map(([name, pool]) => [name, isMapping(pool) ? plainToInstance(KeyPoolDto, pool) : Array.isArray(pool) ? 0 : pool])) : value,
    ),
  );
}

export class ProviderDto {
  @IsString()
  @Matches(KEY_NAME, { message: 'must be letters, digits, ".", "_" or "-"' })
  name!: string;

  @IsRecordOf(
    'isApiKeyMap',
    KEY_NAME,
    (v) => isNonEmptyString(v) || isOAuthKey(v),
    'a non-empty key string or { oauth, credentialsFile }',
  )
  apiKeys!: Record<string, string | { oauth: string; credentialsFile?: string }>;

  @IsOptional()
  @PoolMapping()
  keyPools?: Map<string, KeyPoolDto>;

  @IsOptional()
  @ListOf(() => ServiceDto)
  services?: ServiceDto[];

  @IsOptional()
  @Mapping(() => LlmDto)
  llm?: LlmDto;
}

/** Per-minute and per-day limits; each absent = no limit, 0 = refuse everything. */
export class LimitsDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  requestsPerMinute?: number | null;

  @IsOptional()
  @IsInt()
  @Min(0)
  concurrentRequests?: number | null;

  @IsOptional()
  @IsInt()
  @Min(0)
  tokensPerMinute?: number | null;

  @IsOptional()
  @IsInt()
  @Min(0)
  tokensPerDay?: number | null;
}

export class RedisDto {
  @IsRedisUrl()
  url!: string;

  @IsOptional()
  @IsString()
  @Matches(/^[\x21-\x7e]{0,64}$/, { message: 'must be at most 64 printable characters without spaces' })
  keyPrefix?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(60_000)
  commandTimeoutMs?: number;

  @IsOptional()
  @IsIn(['allow', 'deny'], { message: 'must be "allow" or "deny"' })
  onError?: 'allow' | 'deny';
}

export class StateDto {
  @IsOptional()
  @Mapping(() => RedisDto)
  redis?: RedisDto;
}

export class UserDto {
  @IsString()
  @Matches(NAME, { message: 'must be 1-128 letters, digits, spaces or "._@-"' })
  name!: string;

  @IsOptional()
  @IsString()
  @Matches(/^\S{16,512}$/, { message: 'must be 16 to 512 characters without whitespace' })
  apiKey?: string;

  @IsOptional()
  @IsString()
  @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'must be "sha256:" followed by 64 lowercase hex digits' })
  apiKeyHash?: string;

  @IsString()
  @IsNotEmpty()
  providerName!: string;

  @IsString()
  @IsNotEmpty()
  providerKeyName!: string;

  /** Overrides the top-level `limits` field by field; `null` removes a default for this user. */
  @IsOptional()
  @Mapping(() => LimitsDto)
  limits?: LimitsDto;
}

export class HttpDto {
  @IsOptional()
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  maxBodyBytes?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  connectTimeoutMs?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  headersTimeoutMs?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  idleTimeoutMs?: number;

  /** 0: never send a body again. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1024 * 1024 * 1024)
  replayBodyBytes?: number;
}

export class LoggingDto {
  @IsOptional()
  @IsIn(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
  level?: string;

  @IsOptional()
  @IsBoolean()
  conversation?: boolean;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  conversationFile?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  maxQueueSize?: number;
}

export class GatewayConfigDto {
  @IsOptional()
  @IsString()
  @Matches(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, { message: 'must be "host:port" or ":port"' })
  listen?: string;

  @IsOptional()
  @Mapping(() => HttpDto)
  http?: HttpDto;

  @IsOptional()
  @Mapping(() => LoggingDto)
  logging?: LoggingDto;

  @IsOptional()
  @IsBoolean()
  demo?: boolean;

  @IsOptional()
  @IsInt()
  @Min(0)
  shutdownGraceMs?: number;

  @IsOptional()
  @Mapping(() => StateDto)
  state?: StateDto;

  /** Defaults for every user. */
  @IsOptional()
  @Mapping(() => LimitsDto)
  limits?: LimitsDto;

  @ListOf(() => ProviderDto)
  providers!: ProviderDto[];

  @ListOf(() => UserDto)
  users!: UserDto[];

  /** The model map (see messages/models); validated there. */
  @IsOptional()
  @IsObject({ message: 'must be a mapping' })
  models?: Record<string, unknown>;
}
