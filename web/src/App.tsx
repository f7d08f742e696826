import { useCallback, useEffect, useState } from "react";
import type { ApiClient } from "./api/client";
import { AlbumPanel } from "./components/AlbumPanel";
import { BatchBar } from "./components/BatchBar";
import { Toasts } from "./components/Toasts";
import { TopBar } from "./components/TopBar";
import { LoginPage, SignupPage } from "./pages/AuthPages";
import { GalleryPage } from "./pages/GalleryPage";
import { ImagePage } from "./pages/ImagePage";
import { SettingsPage } from "./pages/SettingsPage";
import { Link, matchPath, navigate, usePath } from "./router";
import { AlbumsProvider } from "./state/albums";
import { LiveProvider } from "./state/live";
import type { SocketFactory } from "./state/notifierSocket";
import { SessionProvider, useSession } from "./state/session";

export function App({ client, socketFactory }: { client: ApiClient; socketFactory?: SocketFactory }) {
  return (
    <SessionProvider client={client}>
      <LiveProvider socketFactory={socketFactory}>
        <Shell />
      </LiveProvider>
    </SessionProvider>
  );
}

function Shell() {
  const { user } = useSession();
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
          {page}
        </main>
      </div>
      <Toasts />
    </div>
  );
}
