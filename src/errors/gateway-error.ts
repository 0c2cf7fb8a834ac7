import { ERROR_CODES, type ErrorCode } from './error-codes.js';

/** The one error type domain code throws; the exception filter renders it per wire format. */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Overrides the status of the code (e.g. an upstream 4xx relayed as is). */
    readonly statusOverride?: number,
    /** Whole seconds the client should wait before trying again: sent as `retry-after`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  get status(): number {
    return this.statusOverride ?? ERROR_CODES[this.code].status;
  }
}
