import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayConfig, User } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * The caller's piapi key from `Authorization: Bearer <key>` or `x-api-key: <key>`.
 * Two different keys in one request are refused rather than guessed between.
 */
export function extractCallerKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = single(headers['x-api-key']);
  const authorization = single(headers.authorization);
  let bearer: string | undefined;
  if (authorization !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!match) throw new GatewayError(ErrorCode.Unauthenticated, 'Invalid API key');
    bearer = match[1];
  }
  if (apiKey !== undefined && bearer !== undefined && apiKey.trim() !== bearer) {
    throw new GatewayError(ErrorCode.Unauthenticated, 'Invalid API key');
  }
  return bearer ?? apiKey?.trim();
}

function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) throw new GatewayError(ErrorCode.Unauthenticated, 'Invalid API key');
  return value === '' ? undefined : value;
}

/**
 * user key → user (→ provider → provider key). The lookup is a hash-map probe on sha256(key),
 * so its cost does not depend on the number of users, and the final comparison is constant-time.
 */
export function resolveUser(config: GatewayConfig, key: string | undefined): User {
  if (key === undefined) {
    throw new GatewayError(ErrorCode.Unauthenticated, 'Missing API key: send x-api-key or Authorization: Bearer');
  }
  // One-shot hashing: no Hash object per request.
  const digest = hash('sha256', key, 'hex');
  const user = config.usersByKeyDigest.get(digest);
  // The map is probed with a digest, never the key, so timing says nothing about the key;
  // the final check is constant-time too.
  if (!user || !timingSafeEqual(Buffer.from(digest, 'hex'), user.keyDigest)) {
    throw new GatewayError(ErrorCode.Unauthenticated, 'Invalid API key');
  }
  return user;
}

export function resolveCaller(config: GatewayConfig, headers: IncomingHttpHeaders): User {
  return resolveUser(config, extractCallerKey(headers));
}
