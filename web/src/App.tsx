import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiClient } from "./api/client";
import { AlbumPanel } from "./components/AlbumPanel";
import { BatchBar } from "./components/BatchBar";
import { PageDrop, usePreventFileOpen } from "./components/PageDrop";
import { UploadPanel } from "./components/Uploads";
import { Toasts } from "./components/Toasts";
import { TopBar } from "./components/TopBar";
import { LoginPage, SignupPage } from "./pages/AuthPages";
import { GalleryPage } from "./pages/GalleryPage";
import { ImagePage } from "./pages/ImagePage";
import { SettingsPage } from "./pages/SettingsPage";
import { Link, matchPath, navigate, usePath } from "./router";
import { AlbumsProvider } from "./state/albums";
import { GalleryCacheProvider } from "./state/gallery";
import { LiveProvider } from "./state/live";
import type { SocketFactory } from "./state/notifierSocket";
import { SessionProvider, useSession } from "./state/session";
import { UploadsProvider } from "./state/uploads";

export function App({ client, socketFactory }: { client: ApiClient; socketFactory?: SocketFactory }) {
  usePreventFileOpen();
  return (
    <SessionProvider client={client}>
      <UserScope socketFactory={socketFactory} />
    </SessionProvider>
  );
}

/**
 * Everything that belongs to one person (jobs, toasts, batches, uploads, loaded galleries) lives under a key
 * naming that person: signing out, or another tab signing in as someone else, drops all of it at once.
 */
function UserScope({ socketFactory }: { socketFactory?: SocketFactory }) {
  const { user } = useSession();
  const scope = user ? `user:${user.id}` : user === null ? "signed-out" : "checking";
  return (
    <LiveProvider key={scope} socketFactory={socketFactory}>
      <UploadsProvider>
        <GalleryCacheProvider>
          <Shell />
        </GalleryCacheProvider>
      </UploadsProvider>
    </LiveProvider>
  );
}

function Shell() {
  const { user, loadError, retryLoad, logout } = useSession();
  const path = usePath();
  const isAuthPage = path === "/login" || path === "/signup";

  useEffect(() => {
    if (user === null && !isAuthPage) {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path + window.location.search)}`;
      navigate(`/login${next}`, { replace: true });
    } else if (user && isAuthPage) {
      navigate("/", { replace: true });
    }
  }, [user, isAuthPage, path]);

  if (user === undefined && loadError) {
    return (
      <main className="auth" id="main">
        <div className="auth-card" role="alert">
          <h1 className="brand-large">Renovo cannot be reached right now</h1>
          <p>{loadError}</p>
          <p className="hint">You are still signed in. This page tries again by itself.</p>
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={retryLoad}>
              Try again
            </button>
            <button type="button" className="btn" onClick={() => void logout()}>
              Log out
            </button>
          </div>
        </div>
      </main>
    );
  }
  if (user === undefined) {
    return (
      <div className="splash" role="status" aria-label="Loading Renovo">
        <span className="spinner" />
      </div>
    );
  }
  if (user === null) return path === "/signup" ? <SignupPage /> : <LoginPage />;
  return (
    <AlbumsProvider>
      <SignedIn path={path} />
    </AlbumsProvider>
  );
}

function SignedIn({ path }: { path: string }) {
  const [menuOpen, setMenuOpen] = useState(false);
  const closeMenu = useCallback(() => setMenuOpen(false), []);
  const firstPath = useRef(path);

  // A new screen moves the keyboard and screen reader focus to its heading (not on the first load).
  useEffect(() => {
    if (path === firstPath.current) return;
    firstPath.current = "";
    const frame = requestAnimationFrame(() => {
      const heading = document.querySelector<HTMLElement>("main h1");
      const target = heading ?? document.getElementById("main");
      if (!target) return;
      if (heading && !heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
    });
    return () => cancelAnimationFrame(frame);
  }, [path]);
  let page: React.ReactNode;
  let params: Record<string, string> | null;
  if (path === "/" || path === "/login" || path === "/signup") page = <GalleryPage albumId={null} />;
  else if ((params = matchPath("/albums/:id", path))) page = <GalleryPage key={params.id} albumId={params.id} />;
  else if ((params = matchPath("/images/:id", path))) page = <ImagePage key={params.id} imageId={params.id} />;
  else if (path === "/settings") page = <SettingsPage />;
  else
    page = (
      <div className="page">
        <h1>Page not found</h1>
        <Link href="/">Go to all images</Link>
      </div>
    );

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <TopBar menuOpen={menuOpen} onMenu={() => setMenuOpen((o) => !o)} />
      <div className="layout">
        <AlbumPanel open={menuOpen} onClose={closeMenu} />
        <main id="main" tabIndex={-1}>
          <BatchBar />
          <UploadPanel />
          {page}
        </main>
      </div>
      <PageDrop />
      <Toasts />
    </div>
  );
}
