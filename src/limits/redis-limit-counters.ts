import type { Redis } from 'ioredis';
import type { RedisStateStore } from '../state/redis-state-store.js';
import type { Lease } from './concurrency-slots.js';
import { dayKey, utcDay, type CheckPlan, type Counts, type LimitCounters } from './limit-counters.js';
import { OutageLedger } from './outage-ledger.js';
import { TickBatch } from './tick-batch.js';

/** How long a concurrency lease outlives its last refresh: a process that dies frees its slots within this. */
export const LEASE_MS = 30_000;
const MINUTE_MS = 60_000;
/** A day's key is written on that day, so one day of life keeps it to the day's end. */
const DAY_MS = 86_400_000;
/** Outage tokens are written back in batches of this many user-days. */
const FLUSH_BATCH = 500;
/** How late a finished request's tokens and released slot may reach Redis when no admission carries them sooner. */
const SETTLE_WITHIN_MS = 5;

/**
 * Every admission of one event-loop turn, checked in one script run: per request, its keys
 * (requests, tokens-minute, tokens-day, concurrency) and ARGV (requests? tokens-minute?
 * tokens-day? slot limit, lease id). Per request it returns the request count and its window's
 * ms left, the minute's tokens and their ms left, the day's tokens, and 1 if a slot was taken.
 * The requests window starts with its first request and lasts a minute (INCR, PEXPIRE); a slot is
 * a lease id in a sorted set scored by its expiry in Redis time (TIME): expired ones are trimmed
 * first, so a dead process's slots come back.
 */
const ADMIT_LUA = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local leaseMs = tonumber(ARGV[1])
local out = {}
for i = 0, #KEYS / 4 - 1 do
  local k, a = i * 4, 1 + i * 5
  local req, reqMs, tm, tmMs, td, slot = -1, 0, -1, 0, -1, 0
  if ARGV[a + 1] == '1' then
    req = redis.call('INCR', KEYS[k + 1])
    reqMs = redis.call('PTTL', KEYS[k + 1])
    if reqMs < 0 then
      redis.call('PEXPIRE', KEYS[k + 1], ${MINUTE_MS})
      reqMs = ${MINUTE_MS}
    end
  end
  if ARGV[a + 2] == '1' then
    tm = tonumber(redis.call('GET', KEYS[k + 2]) or '0')
    tmMs = math.max(redis.call('PTTL', KEYS[k + 2]), 0)
  end
  if ARGV[a + 3] == '1' then
    td = tonumber(redis.call('GET', KEYS[k + 3]) or '0')
  end
  local limit = tonumber(ARGV[a + 4])
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 4], '-inf', now)
    if redis.call('ZCARD', KEYS[k + 4]) < limit then
      redis.call('ZADD', KEYS[k + 4], now + leaseMs, ARGV[a + 5])
      redis.call('PEXPIRE', KEYS[k + 4], leaseMs)
      slot = 1
    end
  end
  out[#out + 1] = req
  out[#out + 1] = reqMs
  out[#out + 1] = tm
  out[#out + 1] = tmMs
  out[#out + 1] = td
  out[#out + 1] = slot
end
return out
`;

/**
 * What finished requests leave behind, one event-loop turn at a time: per entry its keys
 * (tokens-minute, tokens-day, concurrency) and ARGV (minute tokens, day tokens, lease id or "").
 * Token windows start with their first tokens; a released lease leaves the set.
 */
const SETTLE_LUA = `
for i = 0, #KEYS / 3 - 1 do
  local k, a = i * 3, i * 3
  local minute, day = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  if minute > 0 then
    redis.call('INCRBY', KEYS[k + 1], minute)
    if redis.call('PTTL', KEYS[k + 1]) < 0 then redis.call('PEXPIRE', KEYS[k + 1], ${MINUTE_MS}) end
  end
  if day > 0 then
    redis.call('INCRBY', KEYS[k + 2], day)
    if redis.call('PTTL', KEYS[k + 2]) < 0 then redis.call('PEXPIRE', KEYS[k + 2], ${DAY_MS}) end
  end
  if ARGV[a + 3] ~= '' then redis.call('ZREM', KEYS[k + 3], ARGV[a + 3]) end
end
return 0
`;

/** Pushes the expiry of held leases (still present: a lease lost meanwhile is not taken again). */
const REFRESH_LUA = `
local t = redis.call('TIME')
local until_ = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[1])
for i = 1, #KEYS do
  if redis.call('ZADD', KEYS[i], 'XX', 'CH', until_, ARGV[i + 1]) == 1 then redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[1])) end
end
return 0
`;

interface ScriptedRedis extends Redis {
  piapiAdmit(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  piapiSettle(numKeys: number, ...args: (string | number)[]): Promise<number>;
  piapiRefresh(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

interface AdmitRequest {
  user: string;
  plan: CheckPlan;
  leaseId: string;
}

interface SettleEntry {
  user: string;
  day: string;
  minuteTokens: number;
  dayTokens: number;
  leaseId: string;
}

const keys = {
  requests: (user: string) => `limits:requests:${user}`,
  tokensMinute: (user: string) => `limits:tokens-minute:${user}`,
  tokensDay: (user: string, day: string) => `limits:tokens-day:${dayKey(user, day)}`,
  slots: (user: string) => `concurrency:${user}`,
};

/**
 * The counters of per-user limits in Redis, shared by every process: one script run checks and
 * counts every admission of an event-loop turn (atomic, so of a burst across processes exactly
 * the limit are admitted), one more settles the tokens and released slots of a turn. Scripts of
 * our own rather than rate-limiter-flexible and redis-semaphore: measured in bench/RESULTS.md
 * (2026-12-07), the libraries' 13 commands per request cost ~3.6x piapi's CPU per request.
 * Tokens that could not be counted during an outage are kept in an {@link OutageLedger} and
 * added once Redis is back.
 */
export class RedisLimitCounters implements LimitCounters {
  readonly ledger = new OutageLedger();
  private readonly held = new Map<string, string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private serial = 0;
  private readonly prefix = `${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}-`;
  private readonly admissions = new TickBatch<AdmitRequest, Counts>((batch) => this.admitBatch(batch));
  /** Nobody waits on these: they go with the next admissions' call, or within 5 ms. */
  private readonly settlements = new TickBatch<SettleEntry, void>((batch) => this.settleBatch(batch), 1_000, SETTLE_WITHIN_MS);

  constructor(
    private readonly store: RedisStateStore,
    private readonly leaseMs = LEASE_MS,
  ) {
    const client = store.client;
    if (!('piapiAdmit' in client)) {
      client.defineCommand('piapiAdmit', { lua: ADMIT_LUA });
      client.defineCommand('piapiSettle', { lua: SETTLE_LUA });
      client.defineCommand('piapiRefresh', { lua: REFRESH_LUA });
    }
    store.onAvailable(() => void this.flush());
  }

  /** Throws StateStoreUnavailableError when Redis cannot answer in time (no lease is left taken). */
  check(user: string, plan: CheckPlan): Promise<Counts> {
    return this.admissions.add({ user, plan, leaseId: plan.slots === undefined ? '' : this.prefix + (++this.serial).toString(36) });
  }

  async record(user: string, tokens: number, at: number): Promise<void> {
    const day = utcDay(at);
    try {
      await this.settlements.add({ user, day, minuteTokens: tokens, dayTokens: tokens, leaseId: '' });
    } catch {
      this.ledger.add(user, day, tokens, at);
    }
  }

  /** Writes the outage ledger into the counters; what fails stays for the next time Redis is back. */
  async flush(now = Date.now()): Promise<void> {
    if (this.ledger.size === 0) return;
    const today = utcDay(now);
    // Past days' counters are read no more.
    const entries = this.ledger.drain().filter((e) => e.day === today);
    for (let i = 0; i < entries.length; i += FLUSH_BATCH) {
      const batch = entries.slice(i, i + FLUSH_BATCH);
      try {
        await this.settleBatch(batch.map((e) => ({ user: e.user, day: e.day, minuteTokens: this.ledger.recentAt(e, now), dayTokens: e.tokens, leaseId: '' })), true);
      } catch {
        this.ledger.restore(entries.slice(i));
        return;
      }
    }
  }

  private async admitBatch(batch: readonly AdmitRequest[]): Promise<Counts[]> {
    const args: (string | number)[] = [];
    for (const { user, plan } of batch) args.push(keys.requests(user), keys.tokensMinute(user), keys.tokensDay(user, plan.tokensDay ?? '-'), keys.slots(user));
    args.push(this.leaseMs);
    for (const { plan, leaseId } of batch) args.push(plan.requests ? '1' : '0', plan.tokensMinute ? '1' : '0', plan.tokensDay === undefined ? '0' : '1', plan.slots ?? 0, leaseId);
    let sent: Promise<number[]> | undefined;
    let reply: number[];
    try {
      reply = await this.store.run('limit_check', () => (sent = (this.store.client as ScriptedRedis).piapiAdmit(batch.length * 4, ...args)));
    } catch (err) {
      // Timed out after the script was sent: give back the slots it took when its answer arrives.
      sent?.then((late) => batch.forEach((r, i) => late[i * 6 + 5] === 1 && this.release(r.user, r.leaseId)), () => undefined);
      throw err;
    }
    return batch.map(({ user, plan, leaseId }, i) => {
      const r = reply.slice(i * 6, i * 6 + 6);
      return {
        requests: plan.requests ? { count: r[0], msLeft: r[1] } : undefined,
        tokensMinute: plan.tokensMinute ? { count: r[2], msLeft: r[3] } : undefined,
        tokensDay: plan.tokensDay === undefined ? undefined : r[4],
        lease: r[5] === 1 ? this.hold(user, leaseId) : undefined,
      };
    });
  }

  private async settleBatch(batch: readonly SettleEntry[], flush = false): Promise<void[]> {
    const operation = flush ? 'outage_flush' : batch.some((e) => e.dayTokens > 0) ? 'token_record' : 'lease_release';
    const args: (string | number)[] = [];
    for (const { user, day } of batch) args.push(keys.tokensMinute(user), keys.tokensDay(user, day), keys.slots(user));
    for (const e of batch) args.push(e.minuteTokens, e.dayTokens, e.leaseId);
    await this.store.run(operation, () => (this.store.client as ScriptedRedis).piapiSettle(batch.length * 3, ...args));
    return [];
  }

  private hold(user: string, leaseId: string): Lease {
    this.held.set(leaseId, user);
    this.refreshTimer ??= setInterval(() => this.refreshAll(), this.leaseMs / 3).unref();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.release(user, leaseId);
      },
    };
  }

  private release(user: string, leaseId: string): void {
    this.held.delete(leaseId);
    if (this.held.size === 0) {
      clearInterval(this.refreshTimer);
      this.refreshTimer = undefined;
    }
    // Unreachable Redis: the lease expires by itself.
    this.settlements.add({ user, day: '-', minuteTokens: 0, dayTokens: 0, leaseId }).catch(() => undefined);
  }

  private refreshAll(): void {
    if (this.held.size === 0) return;
    const slotKeys: string[] = [];
    const ids: string[] = [];
    for (const [leaseId, user] of this.held) {
      slotKeys.push(keys.slots(user));
      ids.push(leaseId);
    }
    this.store
      .run('lease_refresh', () => (this.store.client as ScriptedRedis).piapiRefresh(slotKeys.length, ...slotKeys, this.leaseMs, ...ids))
      .catch(() => undefined);
  }
}
