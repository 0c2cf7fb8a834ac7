import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';

const DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON request body with a size limit that also bounds the decompressed size (a gzip
 * bomb stops at the limit), and refuses invalid UTF-8 and malformed JSON with a precise 400.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
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
  let text: string;
  try {
    text = DECODER.decode(Buffer.concat(chunks, size));
  } catch {
    throw new GatewayError(ErrorCode.BadRequest, 'Request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const detail = err instanceof RangeError ? 'nested too deeply' : (err as Error).message;
    throw new GatewayError(ErrorCode.BadRequest, `Request body is not valid JSON: ${detail}`);
  }
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
      return req.pipe(createBrotliDecompress({ params: { [constants.BROTLI_PARAM_SIZE_HINT]: 0 } }));
    default:
      throw new GatewayError(ErrorCode.UnsupportedMediaType, `Unsupported content-encoding "${encoding.slice(0, 50)}"`);
  }
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(ErrorCode.PayloadTooLarge, `Request body exceeds the limit of ${limit} bytes`);
}
