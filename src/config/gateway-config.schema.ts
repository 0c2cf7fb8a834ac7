import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
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

/** The YAML file's shape, as class-validator DTOs. Cross-references are checked in gateway-config.ts. */

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

/** A `{ name: string }` map whose keys and values match the given rules. */
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
          value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          Object.entries(value).every(([k, v]) => keyPattern.test(k) && isValue(v)),
        defaultMessage: (args?: ValidationArguments) => {
          const value = args?.value as unknown;
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return `must be a map of ${valueDescription}`;
          const bad = Object.entries(value).find(([k, v]) => !keyPattern.test(k) || !isValue(v));
          if (!bad) return `must be a map of ${valueDescription}`;
          return keyPattern.test(bad[0])
            ? `${JSON.stringify(bad[0])} must be ${valueDescription}`
            : `${JSON.stringify(bad[0])} is not a valid name (letters, digits, ".", "_", "-")`;
        },
      },
    });
}

const isNonEmptyString = (v: unknown) => typeof v === 'string' && v.length > 0;

export function isOAuthKey(v: unknown): v is { oauth: string; credentialsFile: string } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const o = v as Record<string, unknown>;
  return (
    keys.every((k) => k === 'oauth' || k === 'credentialsFile') &&
    isNonEmptyString(o.oauth) &&
    isNonEmptyString(o.credentialsFile)
  );
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
  @ValidateNested()
  @Type(() => ServiceAuthDto)
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
  apiKeys!: Record<string, string | { oauth: string; credentialsFile: string }>;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ServiceDto)
  services?: ServiceDto[];

  @IsOptional()
  @ValidateNested()
  @Type(() => LlmDto)
  llm?: LlmDto;
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
  @ValidateNested()
  @Type(() => HttpDto)
  http?: HttpDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => LoggingDto)
  logging?: LoggingDto;

  @IsOptional()
  @IsBoolean()
  demo?: boolean;

  @IsOptional()
  @IsInt()
  @Min(0)
  shutdownGraceMs?: number;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ProviderDto)
  providers!: ProviderDto[];

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => UserDto)
  users!: UserDto[];

  /** The model map (see messages/models); validated there. */
  @IsOptional()
  @IsObject()
  models?: Record<string, unknown>;
}
