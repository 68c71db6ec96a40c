"use client";
/**
 * Remembers a value in localStorage. The stored value is read after mount (undefined before), so the
 * server render and the first client render agree; writes are debounced, and a full or disabled storage
 * (private mode, quota) only loses the memory, never the page.
 */
import { useCallback, useEffect, useRef, useState } from "react";

export function useLocalSettings<T>(key: string, parse: (raw: string | null) => T): [T | undefined, (value: T) => void] {
  const [loaded, setLoaded] = useState<T | undefined>(undefined);
  const parseRef = useRef(parse);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const pending = useRef<{ value: T } | undefined>(undefined);

  useEffect(() => {
    let raw: string | null = null;
    try {
      raw = window.localStorage.getItem(key);
    } catch {
      // storage disabled
    }
    setLoaded(parseRef.current(raw));
  }, [key]);

  const flush = useCallback(() => {
    clearTimeout(timer.current);
    if (!pending.current) return;
    try {
      window.localStorage.setItem(key, JSON.stringify(pending.current.value));
    } catch {
      // storage full or disabled: nothing to remember with
    }
    pending.current = undefined;
  }, [key]);

  const save = useCallback(
    (value: T) => {
      pending.current = { value };
      clearTimeout(timer.current);
      timer.current = setTimeout(flush, 250);
    },
    [flush],
  );

  // Leaving the page (client navigation or closing the tab) writes what is still pending.
  useEffect(() => {
    window.addEventListener("pagehide", flush);
    return () => {
      window.removeEventListener("pagehide", flush);
      flush();
    };
  }, [flush]);
  return [loaded, save];
}
