export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

/** A promise a test resolves by hand, e.g. to hold a fake's next SSE event until it is ready. */
export function createGate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
