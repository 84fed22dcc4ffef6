/**
 * Ends a git transport that has gone quiet: no bytes either way for `ms` (a client that starts
 * upload-pack and sends nothing, one that stops reading the pack). One timer per transport,
 * re-armed lazily from the last activity rather than on every chunk.
 */
export interface IdleWatch {
  /** Call on every chunk that moves. */
  touch(): void;
  stop(): void;
}

export function idleWatch(ms: number, onIdle: () => void): IdleWatch {
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const quiet = performance.now() - last;
      if (quiet >= ms) {
        timer = undefined;
        onIdle();
      } else arm(ms - quiet);
    }, delay);
    timer.unref();
  };
  arm(ms);
  return {
    touch: () => void (last = performance.now()),
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
