// Toasts: they go by themselves after a while (errors stay until dismissed), but not while the pointer is over
// them or the keyboard focus is in them, so that nobody loses a message while reading it or reaching its link.
import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "../router";
import { useLive, type Toast } from "../state/live";

export const TOAST_MS = 8000;

function ToastItem({ toast, paused, dismiss }: { toast: Toast; paused: boolean; dismiss(id: number): void }) {
  const remaining = useRef(TOAST_MS);
  const onDismiss = useCallback(() => dismiss(toast.id), [dismiss, toast.id]);
  useEffect(() => {
    if (toast.kind === "error" || paused) return;
    const started = Date.now();
    const timer = setTimeout(onDismiss, remaining.current);
    return () => {
      clearTimeout(timer);
      remaining.current = Math.max(1000, remaining.current - (Date.now() - started));
    };
  }, [toast.kind, paused, onDismiss]);
  return (
    <div className={`toast toast-${toast.kind}`} role={toast.kind === "error" ? "alert" : "status"}>
      <div className="toast-text">
        <strong>{toast.title}</strong>
        {toast.body && <span>{toast.body}</span>}
      </div>
      {toast.href && (
        <Link href={toast.href} className="toast-link" onClick={onDismiss}>
          {toast.linkText ?? "Open"}
        </Link>
      )}
      <button type="button" className="btn-icon" aria-label="Dismiss notification" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}

export function Toasts() {
  const { toasts, dismiss } = useLive();
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  return (
    <div
      className="toasts"
      role="region"
      aria-label="Messages"
      aria-live="polite"
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
      onFocus={() => setFocused(true)}
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setFocused(false);
      }}
    >
      {toasts.map((t) => (
        <ToastItem key={t.id} toast={t} paused={hovered || focused} dismiss={dismiss} />
      ))}
    </div>
  );
}
