/**
 * Whether a request body can be sent again to another key. The body streams to the first
 * upstream as it arrives; a copy is kept while it is at most `replayBodyBytes`. A body declared
 * larger is not copied at all; a chunked one is copied until it passes the limit.
 */

export type ReplayPlan =
  /** No body: any attempt can be repeated. */
  | 'no_body'
  /** Copied while it streams (it may still turn out too large, if chunked). */
  | 'copy'
  /** Declared larger than the limit: never copied, the first answer goes to the client. */
  | 'too_large';

export function replayPlan(contentLength: string | undefined, transferEncoding: string | undefined, replayBodyBytes: number): ReplayPlan {
  if (contentLength !== undefined) {
    const declared = Number(contentLength);
    if (declared === 0) return 'no_body';
    return declared > replayBodyBytes ? 'too_large' : 'copy';
  }
  return transferEncoding === undefined ? 'no_body' : 'copy';
}

/** What the copy of a body came to, once the client has sent it whole or passed the limit. */
export interface BodyCopyState {
  /** The client has sent the whole body. */
  ended: boolean;
  /** The body passed `replayBodyBytes`: the copy was dropped. */
  overflowed: boolean;
  /** The client's upload failed (aborted, over maxBodyBytes). */
  failed: boolean;
}

/** A body can be sent again when it is complete and its copy whole. */
export function canReplay(plan: ReplayPlan, copy: BodyCopyState | undefined): boolean {
  if (plan === 'no_body') return true;
  if (plan === 'too_large' || !copy) return false;
  return copy.ended && !copy.overflowed && !copy.failed;
}
