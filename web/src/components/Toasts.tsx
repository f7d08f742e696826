import { Link } from "../router";
import { useLive } from "../state/live";

export function Toasts() {
  const { toasts, dismiss } = useLive();
  return (
    <div className="toasts" role="region" aria-label="Notifications" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          <div className="toast-text">
            <strong>{t.title}</strong>
            {t.body && <span>{t.body}</span>}
          </div>
          {t.href && (
            <Link href={t.href} className="toast-link" onClick={() => dismiss(t.id)}>
              {t.linkText ?? "Open"}
            </Link>
          )}
          <button type="button" className="btn-icon" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
