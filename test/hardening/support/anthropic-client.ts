import { request } from 'undici';
import { expect } from 'vitest';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * POSTs `body` as is (bytes, no re-encoding) with a hard per-request deadline: a hang fails the
 * test as a timeout instead of blocking the suite.
 */
export async function postRaw(url: string, body: string | Buffer, headers: Record<string, string>, timeoutMs = 15_000): Promise<Reply> {
  const res = await request(url, {
    method: 'POST',
    headers,
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

interface AnthropicErrorShape {
  type: string;
  error: { type: string; message: string };
  request_id: string;
}

/** An Anthropic error body: `{"type":"error","error":{type,message},"request_id"}`, id matching the header. */
export function expectAnthropicError(reply: Reply, status?: number): AnthropicErrorShape {
  if (status !== undefined) expect(reply.status, reply.text.slice(0, 300)).toBe(status);
  expect(reply.status).toBeGreaterThanOrEqual(400);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(reply.text) as AnthropicErrorShape;
  expect(body.type).toBe('error');
  expect(body.error.type).toMatch(/^[a-z_]+$/);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.request_id).toBe(reply.headers['x-request-id']);
  return body;
}
