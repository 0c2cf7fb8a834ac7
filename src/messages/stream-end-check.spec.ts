import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  endTracker,
  ENDED_EARLY_MESSAGE,
  GEMINI_ENDED_EARLY_MESSAGE,
  installStreamEndCheck,
  STREAM_END_CHECK_HEADER,
  streamEndCheck,
  unmarked,
} from './stream-end-check.js';

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

describe('the chat-completions end tracker', () => {
  const track = (...chunks: string[]) => {
    const tracker = endTracker('chat-completions');
    for (const c of chunks) tracker.push(Buffer.from(c));
    return tracker.finished;
  };

  it('is not finished by text chunks whose finish_reason is null', () => {
    expect(track(chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hi' }))).toBe(false);
  });

  it('is finished by a choice with a finish_reason, without [DONE]', () => {
    expect(track(chunk({ content: 'Hi' }), chunk({}, 'stop'))).toBe(true);
  });

  it('is finished by data: [DONE], without a finish_reason', () => {
    expect(track(chunk({ content: 'Hi' }), 'data: [DONE]\n\n')).toBe(true);
  });

  it('reads events split across chunks and CRLF line ends', () => {
    const whole = chunk({}, 'length').replaceAll('\n', '\r\n');
    expect(track(chunk({ content: 'Hi' }), whole.slice(0, 30), whole.slice(30))).toBe(true);
    expect(track(chunk({ content: 'Hi' }), 'data: [DO')).toBe(false);
  });

  it('does not take finish_reason inside a text delta for the end', () => {
    expect(track(chunk({ content: '"finish_reason":"stop"' }))).toBe(false);
  });
});

describe('the Gemini end tracker', () => {
  const gemini = (candidate: object) => `data: ${JSON.stringify({ candidates: [{ index: 0, ...candidate }] })}\r\n\r\n`;
  const closingOf = (...chunks: string[]) => {
    const tracker = endTracker('gemini');
    for (const c of chunks) tracker.push(Buffer.from(c));
    const closing = tracker.closing();
    return closing && (JSON.parse(closing.toString()) as unknown);
  };

  it('adds nothing to an answer ended by a candidate with a finishReason', () => {
    expect(closingOf(gemini({ content: { parts: [{ text: 'Hi' }] } }), gemini({ finishReason: 'STOP' }))).toBeUndefined();
  });

  it('ends an answer without a finishReason with a raw JSON error that @google/genai throws', () => {
    expect(closingOf(gemini({ content: { parts: [{ text: 'Partial' }] } }))).toEqual({ error: { code: 502, message: GEMINI_ENDED_EARLY_MESSAGE, status: 'UNAVAILABLE' } });
  });

  it("ends an answer that carried an error event with that error's code and message, finishReason or not", () => {
    const error = 'data: {"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}\r\n\r\n';
    expect(closingOf(gemini({ content: { parts: [{ text: 'Partial' }] } }), error)).toEqual({ error: { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' } });
    expect(closingOf(gemini({ finishReason: 'STOP' }), error)).toMatchObject({ error: { code: 500 } });
  });
});

describe('unmarked', () => {
  it('is undefined for a request without the marker', () => {
    expect(unmarked({ 'content-type': 'application/json' })).toBeUndefined();
    expect(unmarked(undefined)).toBeUndefined();
  });

  it('takes the marker off and asks for an uncompressed answer', () => {
    expect(unmarked({ [STREAM_END_CHECK_HEADER]: 'chat-completions', 'Accept-Encoding': 'gzip, deflate', authorization: 'Bearer k' })).toEqual({
      headers: { authorization: 'Bearer k', 'accept-encoding': 'identity' },
      kind: 'chat-completions',
    });
    expect(unmarked({ [STREAM_END_CHECK_HEADER]: 'gemini' })?.kind).toBe('gemini');
  });

  it('reads the flat array form of headers', () => {
    expect(unmarked(['X-Piapi-Stream-End-Check', 'chat-completions', 'accept', 'text/event-stream'])).toEqual({
      headers: { accept: 'text/event-stream', 'accept-encoding': 'identity' },
      kind: 'chat-completions',
    });
  });
});

describe('the interceptor, against a real server', () => {
  let server: Server;
  let base: string;
  let seen: IncomingHttpHeaders[] = [];
  const agent = new Agent().compose(streamEndCheck);

  const answers: Record<string, (res: ServerResponse) => void> = {
    '/short': (res) => sse(res, chunk({ content: 'Partial' })),
    '/cut-mid-line': (res) => sse(res, chunk({ content: 'Partial' }) + 'data: {"id":"c1","choi'),
    '/finished': (res) => sse(res, chunk({ content: 'Hi' }) + chunk({}, 'stop')),
    '/done': (res) => sse(res, chunk({ content: 'Hi' }) + 'data: [DONE]\n\n'),
    '/gzip': (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(gzipSync(chunk({ content: 'Partial' })));
    },
    '/json': (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"c1"}');
    },
    '/error': (res) => {
      res.writeHead(500, { 'content-type': 'text/event-stream' });
      res.end(chunk({ content: 'Partial' }));
    },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      answers[req.url!](res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await agent.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const body = async (path: string, marked = true) => {
    seen = [];
    const res = await request(`${base}${path}`, {
      dispatcher: agent,
      headers: marked ? { [STREAM_END_CHECK_HEADER]: 'chat-completions', 'accept-encoding': 'gzip' } : { 'accept-encoding': 'gzip' },
    });
    return Buffer.from(await res.body.arrayBuffer()).toString('latin1');
  };

  it('ends a short answer with an in-stream error event', async () => {
    const text = await body('/short');
    expect(text.startsWith(chunk({ content: 'Partial' }))).toBe(true);
    const last = text.trim().split('\n\n').at(-1)!;
    expect(JSON.parse(last.slice('data: '.length))).toEqual({
      error: { message: ENDED_EARLY_MESSAGE, type: 'server_error', param: null, code: 'stream_ended_early' },
    });
  });

  it('ends the line a body was cut inside before the error event', async () => {
    const text = await body('/cut-mid-line');
    expect(text).toContain(`data: {"id":"c1","choi\n\ndata: {"error":`);
  });

  it('sends neither the marker nor a request for compression upstream', async () => {
    await body('/finished');
    expect(seen[0][STREAM_END_CHECK_HEADER]).toBeUndefined();
    expect(seen[0]['accept-encoding']).toBe('identity');
  });

  it('leaves a finished answer as it came', async () => {
    expect(await body('/finished')).toBe(chunk({ content: 'Hi' }) + chunk({}, 'stop'));
    expect(await body('/done')).toBe(chunk({ content: 'Hi' }) + 'data: [DONE]\n\n');
  });

  it('leaves unmarked requests alone', async () => {
    expect(await body('/short', false)).toBe(chunk({ content: 'Partial' }));
    expect(seen[0]['accept-encoding']).toBe('gzip');
  });

  it('does not check what it cannot read or what is not an answer: compressed bodies, JSON, error statuses', async () => {
    expect(await body('/gzip')).toBe(gzipSync(chunk({ content: 'Partial' })).toString('latin1'));
    expect(await body('/json')).toBe('{"id":"c1"}');
    expect(await body('/error')).toBe(chunk({ content: 'Partial' }));
  });

  it('watches the requests of Node fetch (what the openai SDK uses) once installed on the global dispatcher', async () => {
    installStreamEndCheck();
    installStreamEndCheck(); // twice is once
    const res = await fetch(`${base}/short`, { headers: { [STREAM_END_CHECK_HEADER]: 'chat-completions' } });
    const text = await res.text();
    expect(text.split(ENDED_EARLY_MESSAGE)).toHaveLength(2);
    expect(seen[0][STREAM_END_CHECK_HEADER]).toBeUndefined();
    const plain = await fetch(`${base}/short`);
    expect(await plain.text()).toBe(chunk({ content: 'Partial' }));
  });

  it('watches them too in a process whose first fetch ran before undici loaded (Node’s bundled Agent held the slot)', async () => {
    // What `piapi codex` does: a health check with fetch, then the gateway in the same process.
    const module = fileURLToPath(new URL('./stream-end-check.ts', import.meta.url));
    const script = `
      await (await fetch(process.env.BASE + '/finished')).text();
      const { installStreamEndCheck, STREAM_END_CHECK_HEADER } = await import(${JSON.stringify(module)});
      installStreamEndCheck();
      const short = await fetch(process.env.BASE + '/short', { headers: { [STREAM_END_CHECK_HEADER]: 'chat-completions' } });
      const done = await fetch(process.env.BASE + '/done', { headers: { [STREAM_END_CHECK_HEADER]: 'chat-completions' } });
      console.log(JSON.stringify([await short.text(), await done.text()]));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, BASE: base } });
    const [short, done] = JSON.parse(stdout) as [string, string];
    expect(short).toContain(ENDED_EARLY_MESSAGE);
    expect(done).toBe(chunk({ content: 'Hi' }) + 'data: [DONE]\n\n');
  });
});

function sse(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  res.end(text);
}
