import { useEffect } from "react";

/** The document title names the screen, which screen readers announce on navigation. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Renovo` : "Renovo";
  }, [title]);
}
