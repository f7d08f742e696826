// Home, settings and account, plus the menu button that opens the album panel on phones.
import { Link, usePath } from "../router";
import { useLive } from "../state/live";
import { useSession } from "../state/session";

export function TopBar({ menuOpen, onMenu }: { menuOpen: boolean; onMenu(): void }) {
  const { user, logout } = useSession();
  const { socket } = useLive();
  const path = usePath();
  return (
    <header className="topbar">
      <button
        type="button"
        className="btn-icon menu-button"
        aria-label="Albums menu"
        aria-expanded={menuOpen}
        aria-controls="album-panel"
        onClick={onMenu}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
          <path d="M4 7h16M4 12h16M4 17h16" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
      </button>
      <Link href="/" className="brand">
        <span className="brand-mark" aria-hidden="true">R</span>
        <span className="brand-name">Renovo</span>
      </Link>
      <nav className="topnav" aria-label="Main">
        <Link href="/" aria-current={path === "/" ? "page" : undefined}>
          Home
        </Link>
        <Link href="/settings" aria-current={path === "/settings" ? "page" : undefined}>
          Settings
        </Link>
      </nav>
      <div className="account">
        {socket === "offline" && (
          <span className="offline" role="status" title="Live updates will resume when the connection is back">
            Reconnecting…
          </span>
        )}
        <span className="account-name" title={user?.email}>
          {user?.display_name || user?.email}
        </span>
        <button type="button" className="btn btn-small" onClick={() => void logout()}>
          Log out
        </button>
      </div>
    </header>
  );
}
