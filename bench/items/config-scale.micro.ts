import type * as ConfigLoader from '../../src/config/config-loader.js';
import type * as KeyResolver from '../../src/auth/key-resolver.js';
import { gatewayConfigYaml, userKey } from '../gateway-configs.js';

/**
 * Item 5's in-process part, run in a child of its own (a clean heap, nobody else's garbage):
 * `parseConfig` time and `resolveCaller` cost for each user count, on dist/ (the code piapi runs).
 * Usage: node --import tsx bench/items/config-scale.micro.ts <users,users,...> <parse runs> <lookups>
 * Prints one JSON line.
 */
export interface MicroResult {
  users: number;
  yamlBytes: number;
  parseMs: number[];
  nsPerLookup: number[];
}

const LOOKUP_ROUNDS = 5;

const [usersArg = '10,10000', runsArg = '7', lookupsArg = '100000'] = process.argv.slice(2);
const loader = (await import(new URL('../../dist/config/config-loader.js', import.meta.url).href)) as typeof ConfigLoader;
const resolver = (await import(new URL('../../dist/auth/key-resolver.js', import.meta.url).href)) as typeof KeyResolver;

const results: MicroResult[] = [];
for (const users of usersArg.split(',').map(Number)) {
  const yaml = gatewayConfigYaml({ users, upstreamUrl: 'http://127.0.0.1:9' });
  const parseMs: number[] = [];
  let config: ReturnType<typeof loader.parseConfig> | undefined;
  for (let run = 0; run < Number(runsArg); run++) {
    const started = process.hrtime.bigint();
    config = loader.parseConfig(yaml, {});
    parseMs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  if (!config?.ok) throw new Error(`bench config rejected: ${config?.ok === false ? config.errors.join('; ') : 'no run'}`);
  const snapshot = config.config;
  const headers = Array.from({ length: users }, (_, i) => ({ authorization: `Bearer ${userKey(i)}` }));
  const lookups = Number(lookupsArg);
  let check = 0;
  const round = (count: number): number => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) check += resolver.resolveCaller(snapshot, headers[i % users]).name.length;
    return Number(process.hrtime.bigint() - started) / count;
  };
  round(Math.min(lookups, 10_000));
  const nsPerLookup = Array.from({ length: LOOKUP_ROUNDS }, () => round(lookups));
  if (check === 0) throw new Error('no lookup resolved');
  results.push({ users, yamlBytes: Buffer.byteLength(yaml), parseMs, nsPerLookup });
}
process.stdout.write(`${JSON.stringify(results)}\n`);
