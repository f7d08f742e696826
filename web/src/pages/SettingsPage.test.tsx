import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiClient } from "../api/client";
import { SessionProvider, useSession } from "../state/session";
import { json, scriptedFetch, storeTokens } from "../test/fakes";
import { SettingsPage } from "./SettingsPage";

const USER = { id: "u1", email: "ada@example.com", display_name: "Ada", created_at: "", preferences: { notifications: true } };

afterEach(() => vi.unstubAllGlobals());

function renderSettings(routes: Parameters<typeof scriptedFetch>[0]) {
  storeTokens();
  const fake = scriptedFetch((url, init) => (url === "/api/auth/me" && (init.method ?? "GET") === "GET" ? json(200, USER) : undefined), routes);
  // As in the app: the page shows once the session knows who is signed in.
  function WhenSignedIn() {
    return useSession().user ? <SettingsPage /> : null;
  }
  render(
    <SessionProvider client={new ApiClient(window.localStorage, fake.fetch)}>
      <WhenSignedIn />
    </SessionProvider>,
  );
  return fake;
}

describe("SettingsPage", () => {
  it("saves the name, changes the password with the server's messages, and clears the password fields", async () => {
    vi.stubGlobal("Notification", { permission: "granted", requestPermission: vi.fn() });
    const fake = renderSettings((url, init) => {
      if (url !== "/api/auth/me" || init.method !== "PATCH") return undefined;
      const body = JSON.parse(String(init.body));
      if (body.current_password === "wrong") return json(403, { error: { code: "wrong_password", message: "The current password is not right." } });
      return json(200, { ...USER, display_name: body.display_name ?? USER.display_name });
    });
    expect(await screen.findByText("Signed in as ada@example.com")).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText("Display name"));
    await userEvent.type(screen.getByLabelText("Display name"), "  Ada L.  ");
    await userEvent.click(screen.getByRole("button", { name: "Save name" }));
    expect(await screen.findByText("Name saved.")).toBeInTheDocument();
    expect(fake.calls.find((c) => c.method === "PATCH")!.body).toEqual({ display_name: "Ada L." });

    await userEvent.type(screen.getByLabelText("Current password"), "wrong");
    await userEvent.type(screen.getByLabelText("New password"), "a new long passphrase");
    await userEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The current password is not right.");
    await userEvent.clear(screen.getByLabelText("Current password"));
    await userEvent.type(screen.getByLabelText("Current password"), "right");
    await userEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByText("Password changed.")).toBeInTheDocument();
    expect(screen.getByLabelText("Current password")).toHaveValue("");
    expect(screen.getByLabelText("New password")).toHaveValue("");
  });

  it("turns browser notifications off and on, asking the browser when it has not been asked", async () => {
    const requestPermission = vi.fn(async () => "granted");
    vi.stubGlobal("Notification", { permission: "default", requestPermission });
    const fake = renderSettings((url, init) => {
      if (url !== "/api/auth/me" || init.method !== "PATCH") return undefined;
      return json(200, { ...USER, preferences: JSON.parse(String(init.body)).preferences });
    });
    const box = await screen.findByLabelText("Show a browser notification when an enhancement finishes");
    expect(box).toBeChecked();
    await userEvent.click(box);
    expect(await screen.findByText("Browser notifications are off.")).toBeInTheDocument();
    expect(box).not.toBeChecked();
    await userEvent.click(box);
    expect(await screen.findByText("You will be notified when an enhancement finishes.")).toBeInTheDocument();
    expect(requestPermission).toHaveBeenCalled();
    expect(fake.calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([
      { preferences: { notifications: false } },
      { preferences: { notifications: true } },
    ]);
  });

  it("turns the e-mail preference on, and shows it unavailable with the reason without SMTP", async () => {
    vi.stubGlobal("Notification", { permission: "granted", requestPermission: vi.fn() });
    storeTokens();
    let smtp = true;
    const me = () => ({ ...USER, preferences: { notifications: true, notify_email: false }, capabilities: { notify_email: smtp } });
    const fake = scriptedFetch((url, init) => {
      if (url !== "/api/auth/me") return undefined;
      if ((init.method ?? "GET") === "GET") return json(200, me());
      const body = JSON.parse(String(init.body));
      if (!smtp) return json(422, { error: { code: "email_unavailable", message: "E-mail is not set up on this server." } });
      return json(200, { ...me(), preferences: { notifications: true, ...body.preferences } });
    });
    function WhenSignedIn() {
      return useSession().user ? <SettingsPage /> : null;
    }
    const { unmount } = render(
      <SessionProvider client={new ApiClient(window.localStorage, fake.fetch)}>
        <WhenSignedIn />
      </SessionProvider>,
    );
    const box = await screen.findByRole("checkbox", { name: "E-mail me when my images are ready" });
    expect(box).not.toBeChecked();
    expect(box).toBeEnabled();
    await userEvent.click(box);
    expect(await screen.findByText("You will get an e-mail when your images are ready.")).toBeInTheDocument();
    expect(box).toBeChecked();
    expect(fake.calls.find((c) => c.method === "PATCH")?.body).toEqual({ preferences: { notify_email: true } });
    unmount();

    smtp = false;
    render(
      <SessionProvider client={new ApiClient(window.localStorage, fake.fetch)}>
        <WhenSignedIn />
      </SessionProvider>,
    );
    const off = await screen.findByRole("checkbox", { name: "E-mail me when my images are ready" });
    expect(off).toBeDisabled();
    expect(off).not.toBeChecked();
    expect(off).toHaveAccessibleDescription("Unavailable: this server has no e-mail (SMTP) set up.");
  });
});
