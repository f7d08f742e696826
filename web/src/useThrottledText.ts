import { useEffect, useRef, useState } from "react";

/**
 * `text` for a live region, changed at most once per `intervalMs` (the latest value wins at the end of the
 * interval), so that a screen reader hears "Scale ×4: 40%" now and then instead of every percent. A change to or
 * from empty text (a job starting or finishing) goes through at once.
 */
export function useThrottledText(text: string, intervalMs: number): string {
  const [shown, setShown] = useState(text);
  const last = useRef(0);
  useEffect(() => {
    if (text === shown) return;
    const now = Date.now();
    const wait = !text || !shown ? 0 : Math.max(0, last.current + intervalMs - now);
    const timer = setTimeout(() => {
      last.current = Date.now();
      setShown(text);
    }, wait);
    return () => clearTimeout(timer);
  }, [text, shown, intervalMs]);
  return shown;
}
