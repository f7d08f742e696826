import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiClient, TOKENS_KEY } from "../api/client";
import { json, scriptedFetch } from "../test/fakes";
import { SessionProvider, useSession } from "./session";

function jwt(sub: string): string {
  return `h.${btoa(JSON.stringify({ sub })).replace(/=+$/, "")}.s`;
}

function store(access: string) {
  const value = JSON.stringify({ access_token: access, refresh_token: `r-${access}`, expires_at: Date.now() + 900_000 });
  window.localStorage.setItem(TOKENS_KEY, value);
  return value;
}

function Who() {
  const { user, loadError } = useSession();
  return <p>{user === undefined ? (loadError ? `error: ${loadError}` : "checking") : user === null ? "signed out" : user.email}</p>;
}

const USERS: Record<string, { id: string; email: string }> = {
  ada: { id: "ada", email: "ada@example.com" },
  bob: { id: "bob", email: "bob@example.com" },
};

describe("session", () => {
  it("follows another tab signing in as someone else", async () => {
    store(jwt("ada"));
    const { fetch } = scriptedFetch((url, init) => {
      if (url !== "/api/auth/me") return undefined;
      const token = (init.headers as Record<string, string>).Authorization.slice(7);
      const sub = JSON.parse(atob(token.split(".")[1])).sub as string;
      return json(200, { ...USERS[sub], display_name: null, created_at: "" });
    });
    render(
      <SessionProvider client={new ApiClient(window.localStorage, fetch)}>
        <Who />
      </SessionProvider>,
    );
    expect(await screen.findByText("ada@example.com")).toBeInTheDocument();
    // The other tab's login writes Bob's tokens; this tab hears of it by the storage event.
    const newValue = store(jwt("bob"));
    window.dispatchEvent(new StorageEvent("storage", { key: TOKENS_KEY, newValue }));
    expect(await screen.findByText("bob@example.com")).toBeInTheDocument();
  });

  it("does not take a server that is down for a signed-out person", async () => {
    store(jwt("ada"));
    let down = true;
    const { fetch } = scriptedFetch((url) =>
      url === "/api/auth/me"
        ? down
          ? json(500, { error: { code: "internal", message: "Database unavailable." } })
          : json(200, { ...USERS.ada, display_name: null, created_at: "" })
        : undefined,
    );
    function Retry() {
      const { retryLoad } = useSession();
      return (
        <button type="button" onClick={retryLoad}>
          retry
        </button>
      );
    }
    render(
      <SessionProvider client={new ApiClient(window.localStorage, fetch)}>
        <Who />
        <Retry />
      </SessionProvider>,
    );
    expect(await screen.findByText("error: Database unavailable.")).toBeInTheDocument();
    expect(screen.queryByText("signed out")).toBeNull();
    down = false;
    screen.getByRole("button", { name: "retry" }).click();
    await waitFor(() => expect(screen.getByText("ada@example.com")).toBeInTheDocument());
  });
});
