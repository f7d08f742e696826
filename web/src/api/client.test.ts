import { describe, expect, it } from "vitest";
import { json, scriptedFetch, storeTokens } from "../test/fakes";
import { ApiClient, ApiError, TOKENS_KEY } from "./client";

const bearer = (init: RequestInit) => (init.headers as Record<string, string>).Authorization;

describe("ApiClient", () => {
  it("refreshes the token once on 401 and retries the request with the new token", async () => {
    storeTokens("old-access", "refresh-1");
    const { fetch, calls } = scriptedFetch(
      (url) => (url === "/api/auth/refresh" ? json(200, { access_token: "new-access", refresh_token: "refresh-2", token_type: "bearer", expires_in: 900 }) : undefined),
      (url, init) => (url === "/api/albums" && bearer(init) === "Bearer old-access" ? json(401, { error: { code: "token_expired", message: "expired" } }) : undefined),
      (url, init) => (url === "/api/albums" && bearer(init) === "Bearer new-access" ? json(200, { items: [], next_cursor: null }) : undefined),
    );
    const client = new ApiClient(window.localStorage, fetch);

    await expect(client.get("/api/albums")).resolves.toEqual({ items: [], next_cursor: null });

    expect(calls.map((c) => c.url)).toEqual(["/api/albums", "/api/auth/refresh", "/api/albums"]);
    expect(calls[1].body).toEqual({ refresh_token: "refresh-1" });
    expect(JSON.parse(window.localStorage.getItem(TOKENS_KEY)!).refresh_token).toBe("refresh-2");
  });

  it("shares one refresh between requests that fail at the same time", async () => {
    storeTokens("old-access", "refresh-1");
    const { fetch, calls } = scriptedFetch(
      async (url) => {
        if (url !== "/api/auth/refresh") return undefined;
        await new Promise((r) => setTimeout(r, 10));
        return json(200, { access_token: "new-access", refresh_token: "refresh-2", token_type: "bearer", expires_in: 900 });
      },
      (_url, init) => (bearer(init) === "Bearer old-access" ? json(401, {}) : json(200, { ok: true })),
    );
    const client = new ApiClient(window.localStorage, fetch);

    await Promise.all([client.get("/api/albums"), client.get("/api/images"), client.get("/api/models")]);

    expect(calls.filter((c) => c.url === "/api/auth/refresh")).toHaveLength(1);
  });

  it("logs out when the refresh token is refused, without retrying forever", async () => {
    storeTokens("old-access", "refresh-1");
    const { fetch, calls } = scriptedFetch(() => json(401, { error: { code: "invalid_token", message: "Session expired." } }));
    const client = new ApiClient(window.localStorage, fetch);
    const seen: unknown[] = [];
    client.subscribe((t) => seen.push(t));

    await expect(client.get("/api/albums")).rejects.toMatchObject({ status: 401 });

    expect(calls.map((c) => c.url)).toEqual(["/api/albums", "/api/auth/refresh"]);
    expect(client.isLoggedIn).toBe(false);
    expect(window.localStorage.getItem(TOKENS_KEY)).toBeNull();
    expect(seen).toEqual([null]);
  });

  it("adopts the tokens another tab stored when its own refresh lost the race", async () => {
    storeTokens("old-access", "refresh-1");
    const { fetch, calls } = scriptedFetch(
      (url) => {
        if (url !== "/api/auth/refresh") return undefined;
        // The other tab rotated refresh-1 a moment earlier and saved its result.
        storeTokens("other-tab-access", "refresh-2");
        return json(401, { error: { code: "invalid_token", message: "used" } });
      },
      (_url, init) => (bearer(init) === "Bearer other-tab-access" ? json(200, { ok: true }) : json(401, {})),
    );
    const client = new ApiClient(window.localStorage, fetch);

    await expect(client.get("/api/albums")).resolves.toEqual({ ok: true });

    expect(client.isLoggedIn).toBe(true);
    expect(calls.at(-1)?.headers.Authorization).toBe("Bearer other-tab-access");
  });

  it("turns error bodies into ApiError with the server's message", async () => {
    const { fetch } = scriptedFetch(() => json(409, { error: { code: "email_taken", message: "This email is already registered." } }));
    const client = new ApiClient(window.localStorage, fetch);

    const error = await client
      .request("POST", "/api/auth/register", { body: { email: "a@b.c", password: "x" }, anonymous: true })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: "email_taken", message: "This email is already registered." });
  });

  it("does not refresh for anonymous requests such as a wrong password", async () => {
    const { fetch, calls } = scriptedFetch(() => json(401, { error: { code: "invalid_credentials", message: "Wrong email or password." } }));
    const client = new ApiClient(window.localStorage, fetch);

    await expect(client.login("a@b.c", "nope")).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(calls).toHaveLength(1);
  });
});
