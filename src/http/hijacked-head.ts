import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * Takes a response over from Fastify (streams are written straight to the socket's response)
 * and writes its status line with `headers`, a flat `[name, value, …]` list, plus the headers
 * already set on the reply (the request id, by the request hook) that the list does not carry.
 */
export function hijackWithHead(reply: FastifyReply, status: number, headers: string[]): void {
  reply.hijack();
  reply.raw.writeHead(status, withOwnHeaders(headers, reply.getHeaders() as OutgoingHttpHeaders));
}

/** Adds headers already set on our side (by hooks) that the upstream's list does not carry. */
export function withOwnHeaders(list: string[], own: OutgoingHttpHeaders): string[] {
  outer: for (const name in own) {
    const value = own[name];
    if (value === undefined) continue;
    for (let i = 0; i < list.length; i += 2) if (list[i] === name) continue outer;
    if (Array.isArray(value)) for (const item of value) list.push(name, item);
    else list.push(name, String(value));
  }
  return list;
}
