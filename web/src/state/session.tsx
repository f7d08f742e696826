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
  login(email: string, password: string): Promise<void>;
  register(email: string, password: string, displayName: string): Promise<void>;
  logout(): Promise<void>;
  setUser(user: User): void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  const blobs = useMemo(() => new BlobCache(client), [client]);
  const [user, setUser] = useState<User | null | undefined>(client.isLoggedIn ? undefined : null);

  const loadUser = useCallback(async () => {
    try {
      setUser(await client.get<User>("/api/auth/me"));
    } catch {
      // A refresh that failed already cleared the tokens; any other failure shows the login screen too.
      if (!client.isLoggedIn) setUser(null);
      else setUser((u) => (u === undefined ? null : u));
    }
  }, [client]);

  useEffect(() => {
    let signedIn = client.isLoggedIn;
    if (signedIn) void loadUser();
    // Only sign-in and sign-out matter here, not each token refresh.
    return client.subscribe((tokens) => {
      if (signedIn === (tokens !== null)) return;
      signedIn = tokens !== null;
      if (!tokens) {
        setUser(null);
        blobs.clear();
      } else {
        setUser(undefined);
        void loadUser();
      }
    });
  }, [client, blobs, loadUser]);

  const value = useMemo<Session>(
    () => ({
      client,
      blobs,
      user,
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
    [client, blobs, user],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
