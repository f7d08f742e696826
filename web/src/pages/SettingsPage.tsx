// Display name, password change and the notification preference.
import { useState, type FormEvent } from "react";
import type { User } from "../api/types";
import { useSession } from "../state/session";
import { useTitle } from "../useTitle";

function useForm(action: () => Promise<string>) {
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      setMessage({ ok: true, text: await action() });
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return { message, busy, submit };
}

function Message({ message }: { message: { ok: boolean; text: string } | null }) {
  if (!message) return null;
  return (
    <p className={message.ok ? "ok" : "error"} role={message.ok ? "status" : "alert"}>
      {message.text}
    </p>
  );
}

export function SettingsPage() {
  const { client, user, setUser } = useSession();
  const [name, setName] = useState(user?.display_name ?? "");
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [permission, setPermission] = useState<NotificationPermission | "unsupported">(
    typeof Notification === "undefined" ? "unsupported" : Notification.permission,
  );
  const notify = user?.preferences?.notifications !== false;
  const notifyEmail = user?.preferences?.notify_email === true;
  const emailAvailable = user?.capabilities?.notify_email !== false;
  useTitle("Settings");

  const profile = useForm(async () => {
    setUser(await client.patch<User>("/api/auth/me", { display_name: name.trim() }));
    return "Name saved.";
  });
  const password = useForm(async () => {
    await client.patch<User>("/api/auth/me", { password: next, current_password: current });
    setCurrent("");
    setNext("");
    return "Password changed.";
  });
  const prefs = useForm(async () => {
    const updated = await client.patch<User>("/api/auth/me", { preferences: { notifications: !notify } });
    setUser({ ...updated, preferences: { ...updated.preferences, notifications: !notify } });
    if (!notify && permission === "default") setPermission(await Notification.requestPermission());
    return !notify ? "You will be notified when an enhancement finishes." : "Browser notifications are off.";
  });
  const emailPref = useForm(async () => {
    const updated = await client.patch<User>("/api/auth/me", { preferences: { notify_email: !notifyEmail } });
    setUser({ ...user, ...updated, preferences: { ...updated.preferences, notify_email: !notifyEmail } } as User);
    return !notifyEmail ? "You will get an e-mail when your images are ready." : "E-mails are off.";
  });

  return (
    <div className="page settings">
      <header className="page-head">
        <h1>Settings</h1>
        <p className="meta">Signed in as {user?.email}</p>
      </header>
      <form className="panel stack" onSubmit={profile.submit} aria-labelledby="settings-profile">
        <h2 id="settings-profile">Profile</h2>
        <div className="field">
          <label htmlFor="settings-name">Display name</label>
          <input id="settings-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
        </div>
        <Message message={profile.message} />
        <button type="submit" className="btn btn-primary" disabled={profile.busy}>
          Save name
        </button>
      </form>
      <form className="panel stack" onSubmit={password.submit} aria-labelledby="settings-password">
        <h2 id="settings-password">Password</h2>
        <div className="field">
          <label htmlFor="settings-current">Current password</label>
          <input
            id="settings-current"
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="settings-new">New password</label>
          <input
            id="settings-new"
            type="password"
            autoComplete="new-password"
            required
            value={next}
            onChange={(e) => setNext(e.target.value)}
          />
        </div>
        <Message message={password.message} />
        <button type="submit" className="btn btn-primary" disabled={password.busy}>
          Change password
        </button>
      </form>
      <section className="panel stack" aria-labelledby="settings-notify">
        <h2 id="settings-notify">Notifications</h2>
        <div className="field field-check">
          <input
            id="settings-notifications"
            type="checkbox"
            checked={notify}
            disabled={prefs.busy}
            onChange={() => void prefs.submit()}
          />
          <label htmlFor="settings-notifications">Show a browser notification when an enhancement finishes</label>
        </div>
        <Message message={prefs.message} />
        <div className="field field-check">
          <input
            id="settings-notify-email"
            type="checkbox"
            checked={emailAvailable && notifyEmail}
            disabled={!emailAvailable || emailPref.busy}
            aria-describedby={emailAvailable ? "settings-notify-email-hint" : "settings-notify-email-why"}
            onChange={() => void emailPref.submit()}
          />
          <label htmlFor="settings-notify-email">E-mail me when my images are ready</label>
        </div>
        {emailAvailable ? (
          <p id="settings-notify-email-hint" className="hint">
            Only when you have no Renovo page open; one e-mail for a whole album.
          </p>
        ) : (
          <p id="settings-notify-email-why" className="hint">
            Unavailable: this server has no e-mail (SMTP) set up.
          </p>
        )}
        <Message message={emailPref.message} />
        {permission === "unsupported" ? (
          <p className="hint">This browser does not support notifications; you will still see a message in the page.</p>
        ) : permission === "denied" ? (
          <p className="hint">Notifications are blocked for this site in your browser's settings.</p>
        ) : permission === "default" ? (
          <button
            type="button"
            className="btn"
            onClick={async () => setPermission(await Notification.requestPermission())}
          >
            Allow browser notifications
          </button>
        ) : (
          <p className="hint">This browser allows Renovo's notifications.</p>
        )}
      </section>
    </div>
  );
}
