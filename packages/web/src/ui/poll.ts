/** Polling: the console follows live state by asking the API again every few seconds. */
import { useEffect, useRef, useState } from 'react';

export interface Polled<T> {
  readonly data: T | null;
  readonly error: Error | null;
  readonly updatedAt: number | null;
  readonly refresh: () => void;
}

/**
 * Calls `load` now and then every `intervalMs` (never two at once), until unmount or until `deps`
 * change. `load` receives the previous value so it can fetch only what changed. New `deps` start
 * from nothing (the old data answered another question); `refresh()` asks again at once and keeps
 * showing the last answer until the new one comes.
 */
export function usePoll<T>(
  load: (prev: T | null) => Promise<T>,
  intervalMs: number,
  deps: readonly unknown[],
): Polled<T> {
  const [state, setState] = useState<{ data: T | null; error: Error | null; updatedAt: number | null }>({
    data: null,
    error: null,
    updatedAt: null,
  });
  const [tick, setTick] = useState(0);
  const prev = useRef<T | null>(null);
  const asked = useRef<readonly unknown[] | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const question = [...deps, intervalMs];
    const last = asked.current;
    asked.current = question;
    if (last === null || last.length !== question.length || question.some((d, i) => !Object.is(d, last[i]))) {
      prev.current = null;
      setState({ data: null, error: null, updatedAt: null });
    }
    const run = async () => {
      try {
        const data = await load(prev.current);
        if (stopped) return;
        prev.current = data;
        setState({ data, error: null, updatedAt: Date.now() });
      } catch (err) {
        if (stopped) return;
        setState((s) => ({ ...s, error: err as Error }));
      }
      if (!stopped && intervalMs > 0) timer = setTimeout(() => void run(), intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick, intervalMs]);
  return { ...state, refresh: () => setTick((n) => n + 1) };
}

/** The current time, re-read every `everyMs` (for "waited 3m 2s" labels). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
