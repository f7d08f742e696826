// The session: the API client, the image blob cache and the signed-in user, shared by every screen.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiClient } from "../api/client";
import { BlobCache } from "../api/blobs";
import type { User } from "../api/types";

export interface Session {
  client: ApiClient;
  blobs: BlobCache;
  /** undefined while the stored session is being checked; null when signed out. */
  user: User | null | undefined;
  /** Why the stored session could not be checked (server down, offline): not a reason to show the login form. */
  loadError: string | null;
  retryLoad(): void;
  login(email: string, password: string): Promise<void>;
  register(email: string, password: string, displayName: string): Promise<void>;
  logout(): Promise<void>;
  setUser(user: User): void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  const blobs = useMemo(() => new BlobCache(client), [client]);
  const [user, setUser] = useState<User | null | undefined>(client.isLoggedIn ? undefined : null);
  const [loadError, setLoadError] = useState<string | null>(null);

  const loadUser = useCallback(async () => {
    setLoadError(null);
    try {
      setUser(await client.get<User>("/api/auth/me"));
    } catch (error) {
      // A refresh that failed already cleared the tokens: that is signed out. Anything else (503, offline) is
      // not: the page says what happened and tries again, instead of asking for a password it does not need.
      if (!client.isLoggedIn) setUser(null);
      else setLoadError((error as Error).message);
    }
  }, [client]);

  useEffect(() => {
    let signedIn = client.isLoggedIn;
    let subject = client.subject;
    if (signedIn) void loadUser();
    // Sign-in, sign-out and another tab signing in as someone else matter here, not each token refresh.
    return client.subscribe((tokens) => {
      const nowSubject = client.subject;
      const switched = signedIn && tokens !== null && nowSubject !== subject;
      if (signedIn === (tokens !== null) && !switched) return;
      signedIn = tokens !== null;
      subject = nowSubject;
      blobs.clear();
      if (!tokens) {
        setLoadError(null);
        setUser(null);
      } else {
        setUser(undefined);
        void loadUser();
      }
    });
  }, [client, blobs, loadUser]);

  // While the server cannot say who is signed in, ask again now and then.
  useEffect(() => {
    if (!loadError) return;
    const timer = setTimeout(() => void loadUser(), 10_000);
    return () => clearTimeout(timer);
  }, [loadError, loadUser]);

  const value = useMemo<Session>(
    () => ({
      client,
      blobs,
      user,
      loadError,
      retryLoad: () => void loadUser(),
      login: (email, password) => client.login(email, password),
      async register(email, password, displayName) {
        const body: Record<string, string> = { email, password };
        if (displayName.trim()) body.display_name = displayName.trim();
        await client.request("POST", "/api/auth/register", { body, anonymous: true });
        await client.login(email, password);
      },
      logout: () => client.logout(),
      setUser,
    }),
    [client, blobs, user, loadError, loadUser],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
