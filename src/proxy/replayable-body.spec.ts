import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplayableBody } from './replayable-body.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Sends `body` to a real HTTP server and gives `inspect` the request there; answers 204 once it is done. */
async function receive(body: Readable | Buffer, inspect: (req: IncomingMessage) => Promise<void>): Promise<void> {
  let failure: Error | undefined;
  server = createServer((req, res) => {
    inspect(req)
      .catch((err: unknown) => (failure = err instanceof Error ? err : new Error(String(err))))
      .finally(() => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const res = await request(`http://127.0.0.1:${port}/`, { method: 'POST', body });
  await res.body.text();
  if (failure) throw failure;
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const parts = () => Readable.from([Buffer.alloc(30_000, 'a'), Buffer.alloc(30_000, 'b')]);

describe('ReplayableBody', () => {
  it('streams the body to the first attempt and keeps it whole for the next', async () => {
    await receive(parts(), async (req) => {
      const body = new ReplayableBody(req, 100_000, 1_000_000);
      const first = await drain(body.stream());
      expect(await body.settled()).toBe(true);
      expect(body.replay().equals(first)).toBe(true);
      expect(body.bytes).toBe(60_000);
    });
  });

  it('reads the rest of the body into the copy when the first attempt stops reading', async () => {
    await receive(parts(), async (req) => {
      const body = new ReplayableBody(req, 100_000, 1_000_000);
      body.stream().destroy();
      expect(await body.settled()).toBe(true);
      expect(body.replay().length).toBe(60_000);
    });
  });

  it('waits for a body still arriving', async () => {
    async function* slow() {
      yield Buffer.from('first ');
      await sleep(200);
      yield Buffer.from('second');
    }
    await receive(Readable.from(slow()), async (req) => {
      const body = new ReplayableBody(req, 100_000, 1_000_000);
      body.stream().resume();
      expect(await body.settled()).toBe(true);
      expect(body.replay().toString()).toBe('first second');
    });
  });

  it('drops the copy of a body past replayBodyBytes, and says it cannot be sent again', async () => {
    await receive(parts(), async (req) => {
      const body = new ReplayableBody(req, 40_000, 1_000_000);
      const first = drain(body.stream());
      expect(await body.settled()).toBe(false);
      // The first attempt still gets all of it.
      expect((await first).length).toBe(60_000);
    });
  });

  it('fails the first attempt with a 413 error past maxBodyBytes', async () => {
    await receive(parts(), async (req) => {
      const body = new ReplayableBody(req, 100_000, 40_000);
      await expect(drain(body.stream())).rejects.toMatchObject({ code: 'payload_too_large' });
      expect(body.tooLarge).toBe(true);
      expect(await body.settled()).toBe(false);
    });
  });
});
