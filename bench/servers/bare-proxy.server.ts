import type { IncomingHttpHeaders } from 'node:http';
import Fastify from 'fastify';
import { Pool } from 'undici';
import { announceListening, loopbackUrl } from './bench-server-ipc.js';

/**
 * The baseline piapi's pass-through is held against: the least a Fastify + undici proxy can do.
 * Bodies stream both ways unparsed over a keep-alive pool; no auth, no logs, no metrics.
 */
const upstream = process.env.BENCH_UPSTREAM_URL;
if (!upstream) throw new Error('BENCH_UPSTREAM_URL is required');

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host']);
const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 30_000 });

const fastify = Fastify({ logger: false, requestTimeout: 0, keepAliveTimeout: 65_000, bodyLimit: 64 * 1024 * 1024 });
fastify.removeAllContentTypeParsers();
fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

fastify.all('/*', async (req, reply) => {
  const declared = req.headers['content-length'];
  const hasBody = declared !== undefined ? declared !== '0' : req.headers['transfer-encoding'] !== undefined;
  const res = await pool.request({
    path: req.raw.url ?? '/',
    method: req.raw.method as 'GET',
    headers: withoutHopByHop(req.headers),
    body: hasBody ? req.raw : null,
  });
  return reply.code(res.statusCode).headers(withoutHopByHop(res.headers)).send(res.body);
});

function withoutHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

await fastify.listen({ port: 0, host: '127.0.0.1' });
announceListening(loopbackUrl(fastify.server.address()));
