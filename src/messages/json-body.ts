import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RepeatedMemberParser } from './repeated-members.js';

/**
 * Deeper JSON is refused: nothing legitimate nests this far, and what follows the parse
 * (pi-ai, the SDKs, JSON.stringify) recurses and would overflow the stack on it.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Reads a JSON request body with a size limit that also bounds the decompressed size (a gzip
 * bomb stops at the limit), and refuses invalid UTF-8 and malformed JSON with a precise 400.
 * With `members`, large top-level members seen in earlier bodies are not parsed again.
 */
export async function readJsonBody(req: IncomingMessage, limit: number, members?: RepeatedMemberParser): Promise<unknown> {
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType !== '' && !/^application\/([\w.+-]*\+)?json\b/i.test(contentType)) {
    throw new GatewayError(ErrorCode.UnsupportedMediaType, `Unsupported content-type "${contentType.slice(0, 100)}": send application/json`);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);

  const source = decoded(req, String(req.headers['content-encoding'] ?? 'identity').toLowerCase().trim());
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    }
  } catch (err) {
    if (source !== req) source.destroy();
    // Leave the connection usable for the error response: drain what the client still sends.
    req.resume();
    if (err instanceof GatewayError) throw err;
    throw new GatewayError(ErrorCode.BadRequest, 'Request body could not be read or decompressed');
  }
  if (size === 0) throw new GatewayError(ErrorCode.BadRequest, 'Request body is empty: send a JSON object');
  let body = Buffer.concat(chunks, size);
  if (!isUtf8(body)) throw new GatewayError(ErrorCode.BadRequest, 'Request body is not valid UTF-8');
  // A leading byte order mark is not JSON; decoders drop it.
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  let value: unknown = members?.parse(body);
  if (value === undefined) {
    try {
      value = JSON.parse(body.toString('utf8')) as unknown;
    } catch (err) {
      const detail = err instanceof RangeError ? 'nested too deeply' : (err as Error).message;
      throw new GatewayError(ErrorCode.BadRequest, `Request body is not valid JSON: ${detail}`);
    }
  }
  if (nestedDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new GatewayError(ErrorCode.BadRequest, `Request body is nested too deeply: at most ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}

/**
 * Iterative, so the check itself cannot overflow; visits nodes, not characters (long strings cost
 * nothing). Frozen objects are members RepeatedMemberParser reused: checked when first parsed
 * (see `fitsDepth`), at the top level of a body, so they are not visited again.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth >= max) return true;
    if (depth === 1 && Object.isFrozen(node)) continue;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Whether a top-level member may be reused by RepeatedMemberParser: its value fits within the depth limit there. */
export function fitsDepth(memberValue: unknown): boolean {
  return !nestedDeeperThan(memberValue, MAX_JSON_DEPTH - 1);
}

function decoded(req: IncomingMessage, encoding: string): Readable {
  switch (encoding) {
    case 'identity':
    case '':
      return req;
    case 'gzip':
    case 'x-gzip':
      return req.pipe(createGunzip());
    case 'deflate':
      return req.pipe(createInflate());
    case 'br':
      return req.pipe(createBrotliDecompress());
    default:
      throw new GatewayError(ErrorCode.UnsupportedMediaType, `Unsupported content-encoding "${encoding.slice(0, 50)}"`);
  }
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(ErrorCode.PayloadTooLarge, `Request body exceeds the limit of ${limit} bytes`);
}
