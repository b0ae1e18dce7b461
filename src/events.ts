/**
 * A typed event emitter (STYLE 9): events declared as a type map; an
 * exception thrown by one listener is isolated and reported, never breaks
 * the emitter or the other listeners.
 */
export type EventMap = Record<string, unknown[]>;

const warnListenerError = (err: unknown, event: PropertyKey): void => {
  process.emitWarning(`listener for '${String(event)}' threw: ${err instanceof Error ? err.message : String(err)}`);
};

export class TypedEmitter<E extends EventMap> {
  #listeners = new Map<keyof E, Set<(...args: unknown[]) => void>>();
  #onListenerError: (err: unknown, event: keyof E) => void;
  /** True while a listener's exception is being reported (the report may emit, e.g. 'error'). */
  #reporting = false;

  constructor(onListenerError?: (err: unknown, event: keyof E) => void) {
    this.#onListenerError = onListenerError ?? warnListenerError;
  }

  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as unknown as (...args: unknown[]) => void);
    return () => this.off(event, listener);
  }

  once<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    const off = this.on(event, (...args: E[K]) => {
      off();
      listener(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    this.#listeners.get(event)?.delete(listener as unknown as (...args: unknown[]) => void);
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(...(args as unknown[]));
      } catch (err) {
        this.#report(err, event);
      }
    }
  }

  /**
   * Report a listener's exception. A report that itself ends in a throwing
   * listener (an 'error' listener that throws, when errors are re-emitted as
   * 'error') is not reported through the same path again, which would
   * recurse without end: it becomes a process warning.
   */
  #report(err: unknown, event: keyof E): void {
    if (this.#reporting) {
      warnListenerError(err, event);
      return;
    }
    this.#reporting = true;
    try {
      this.#onListenerError(err, event);
    } catch (again) {
      warnListenerError(again, event);
    } finally {
      this.#reporting = false;
    }
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
