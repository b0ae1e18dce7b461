/**
 * A typed event emitter (STYLE 9): events declared as a type map; an
 * exception thrown by one listener is isolated and reported, never breaks
 * the emitter or the other listeners.
 */
export type EventMap = Record<string, unknown[]>;

export class TypedEmitter<E extends EventMap> {
  #listeners = new Map<keyof E, Set<(...args: unknown[]) => void>>();
  #onListenerError: (err: unknown, event: keyof E) => void;

  constructor(onListenerError?: (err: unknown, event: keyof E) => void) {
    this.#onListenerError =
      onListenerError ??
      ((err, event) => {
        process.emitWarning(`listener for '${String(event)}' threw: ${err instanceof Error ? err.message : String(err)}`);
      });
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
        this.#onListenerError(err, event);
      }
    }
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
