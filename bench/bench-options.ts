import { parseArgs } from 'node:util';

export const ITEMS = ['json', 'sse', 'messages', 'responses', 'memory', 'config'] as const;
export type ItemId = (typeof ITEMS)[number];

export interface BenchOptions {
  /** Seconds of measured load per cell. */
  durationS: number;
  /** Seconds of unmeasured load before each cell. */
  warmupS: number;
  connections: number;
  items: ReadonlySet<ItemId>;
  quick: boolean;
  /** Measured rounds per cell; the cells of an item take turns (A B C A B C …). */
  rounds: number;
  /** Sequential requests per column for the latency / first-byte probes. */
  probeCount: number;
  /** Item 4: concurrent SSE streams, and how long the upstream holds each (one event a second). */
  streams: number;
  holdS: number;
  /** Item 5: lookups per `resolveCaller` round, and `parseConfig` runs per config. */
  lookups: number;
  reloadRuns: number;
  /** Item 3: size of the long-history request body, in MB. */
  longHistoryMB: number;
  profile: boolean;
  /** Also write every figure as JSON here. */
  jsonOut?: string;
  /** Items 1 and 2: another checkout (built) whose piapi is measured as one more column. */
  against?: string;
}

export const USAGE = `usage: npm run bench -- [options]

  --duration <s>      measured seconds per cell (default 10; --quick 1)
  --warmup <s>        warm-up seconds before each cell (default 3; --quick 0.5)
  --connections <n>   concurrent connections of the load generator (default 32)
  --rounds <n>        split each cell into n rounds, the columns taking turns (default 3; --quick 1)
  --only <items>      comma-separated items: 1|json, 2|sse, 3|messages, 4|memory, 5|config, 6|responses (default all)
  --quick             short smoke run: 1 s cells, 100 probes, 100 streams held 3 s, fewer lookups
  --probe <n>         sequential requests per column for latency / first byte (default 1000)
  --streams <n>       item 4: concurrent SSE streams (default 1000)
  --hold <s>          item 4: seconds the upstream holds each stream (default 10)
  --lookups <n>       item 5: resolveCaller lookups per round (default 100000)
  --long-history <MB> item 3: size of the long-history body (default 3; 0 leaves it out)
  --profile           run piapi under --cpu-prof (bench/profiles/) and print its top 20 self-time functions
  --json <file>       also write the figures as JSON
  --against <dir>     items 1, 2: also measure the piapi of another checkout with dist/ built (e.g. a
                      git worktree of an earlier commit), in the same rounds: small changes show
  --help`;

export function parseBenchOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      probe: { type: 'string' },
      streams: { type: 'string' },
      hold: { type: 'string' },
      lookups: { type: 'string' },
      'long-history': { type: 'string' },
      profile: { type: 'boolean', default: false },
      json: { type: 'string' },
      against: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick;
  return {
    durationS: num(values.duration, quick ? 1 : 10, 'duration'),
    warmupS: num(values.warmup, quick ? 0.5 : 3, 'warmup'),
    connections: int(values.connections, 32, 'connections'),
    items: parseItems(values.only),
    quick,
    rounds: int(values.rounds, quick ? 1 : 3, 'rounds'),
    probeCount: int(values.probe, quick ? 100 : 1000, 'probe'),
    streams: int(values.streams, quick ? 100 : 1000, 'streams'),
    holdS: int(values.hold, quick ? 3 : 10, 'hold'),
    lookups: int(values.lookups, quick ? 20_000 : 100_000, 'lookups'),
    reloadRuns: quick ? 3 : 7,
    longHistoryMB: num(values['long-history'], quick ? 1 : 3, 'long-history'),
    profile: values.profile,
    jsonOut: values.json,
    against: values.against,
  };
}

const ITEM_NUMBERS: Readonly<Record<string, ItemId>> = { 1: 'json', 2: 'sse', 3: 'messages', 4: 'memory', 5: 'config', 6: 'responses' };

function parseItems(only: string[] | undefined): ReadonlySet<ItemId> {
  if (!only) return new Set(ITEMS);
  const items = new Set<ItemId>();
  for (const name of only.flatMap((o) => o.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const item = ITEM_NUMBERS[name] ?? ITEMS.find((i) => i === name);
    if (!item) throw new Error(`--only: unknown item ${JSON.stringify(name)} (1-5 or ${ITEMS.join(', ')})`);
    items.add(item);
  }
  return items;
}

function num(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a non-negative number: ${value}`);
  return n;
}

function int(value: string | undefined, fallback: number, name: string): number {
  const n = num(value, fallback, name);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: not a positive integer: ${value}`);
  return n;
}
