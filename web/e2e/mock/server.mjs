// A stand-in for the Renovo gateway, for looking at the screens before the real platform is up:
// `npm run build && npm run mock` then open http://127.0.0.1:5180. In-memory, one process, not used by `npm run e2e`
// unless RENOVO_E2E_URL points here. Follows shared DESIGN.md's HTTP API and WebSocket contract.
import { randomUUID } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";

const PORT = Number(process.env.MOCK_PORT ?? 5180);
const TOKEN_TTL = Number(process.env.MOCK_TOKEN_TTL ?? 900);
const JOB_MS = Number(process.env.MOCK_JOB_MS ?? 1500);
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

const users = new Map(); // id -> user (+password, preferences)
const access = new Map(); // token -> {userId, expires}
const refresh = new Map(); // token -> userId
const albums = new Map();
const images = new Map(); // id -> {meta, bytes, userId}
const jobs = new Map(); // id -> {job, userId}
const sockets = new Set(); // {ws, userId}

const MODELS = [
  { type: "none", family: "none", label: "None", description: "Decode, apply the EXIF orientation and re-encode as PNG.", options: [] },
  { type: "sr", family: "realsr", label: "SR", description: "Photo super-resolution (RealSR DF2K).", options: [{ name: "scale", label: "Scale", choices: [2, 3, 4], default: 4, description: "" }] },
  { type: "restore", family: "bopb", label: "Restoration w/o scratches", description: "Old-photo restoration: noise, blur, fading.", options: [{ name: "face_enhance", label: "Enhance faces", choices: [false, true], default: false, description: "detect faces and restore them separately" }] },
  { type: "restore_scratch", family: "bopb", label: "Restoration w/ scratches", description: "Old-photo restoration with scratch detection and removal.", options: [{ name: "face_enhance", label: "Enhance faces", choices: [false, true], default: false, description: "detect faces and restore them separately" }] },
  { type: "sr2d", family: "waifu2x", label: "2D SR", description: "Upscaling and denoising of 2D and anime art (Waifu2x).", options: [
    { name: "noise", label: "Noise level", choices: [-1, 0, 1, 2, 3], default: 1, description: "-1 keeps the noise" },
    { name: "scale", label: "Scale", choices: [1, 2, 4], default: 2, description: "" },
    { name: "style", label: "Style", choices: ["art", "photo"], default: "art", description: "" },
  ] },
].map((m) => {
  const missing = m.family === "bopb";
  return { ...m, available: !missing, engine: missing ? "" : `${m.family}-cpu`, reason: missing ? "BOPB weights are not installed (run make weights)" : null };
});

const now = () => new Date().toISOString();
const fail = (res, status, code, message) => send(res, status, { error: { code, message } });
function send(res, status, body, headers = {}) {
  const data = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(data);
}
async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}
function tokensFor(userId) {
  const a = randomUUID(), r = randomUUID();
  access.set(a, { userId, expires: Date.now() + TOKEN_TTL * 1000 });
  refresh.set(r, userId);
  return { access_token: a, refresh_token: r, token_type: "bearer", expires_in: TOKEN_TTL };
}
function authUser(req) {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
  const t = m && access.get(m[1]);
  return t && t.expires > Date.now() ? users.get(t.userId) : null;
}
const publicUser = (u) => ({ id: u.id, email: u.email, display_name: u.display_name, created_at: u.created_at, preferences: u.preferences });

function parseMultipart(buf, contentType) {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType ?? "");
  if (!boundary) return [];
  const sep = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts = [];
  let pos = buf.indexOf(sep);
  while (pos !== -1) {
    const start = pos + sep.length + 2;
    const next = buf.indexOf(sep, start);
    if (next === -1) break;
    const part = buf.subarray(start, next - 2);
    const headEnd = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, headEnd).toString();
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    const type = /Content-Type: ([^\r\n]+)/i.exec(head)?.[1];
    parts.push({ name, filename, type, data: part.subarray(headEnd + 4) });
    pos = next;
  }
  return parts;
}
function pngSize(b) {
  if (b.length > 24 && b.toString("ascii", 1, 4) === "PNG") return [b.readUInt32BE(16), b.readUInt32BE(20)];
  return [640, 480];
}

function push(userId, job, type) {
  const msg = JSON.stringify({ type, job_id: job.id, image_id: job.image_id, status: job.status, progress: job.progress, error: job.error, engine: job.engine, updated_at: job.updated_at });
  for (const s of sockets) if (s.userId === userId && s.ready) s.ws.send(msg);
}
function runJob(entry) {
  const { job, userId } = entry;
  const steps = 4;
  let i = 0;
  const tick = () => {
    if (job.status === "cancelled") return;
    if (i === 0) {
      Object.assign(job, { status: "running", progress: 0, updated_at: now() });
      push(userId, job, "job.started");
    } else if (i < steps) {
      Object.assign(job, { progress: i / steps, updated_at: now() });
      push(userId, job, "job.progress");
    } else {
      const failIt = images.get(job.image_id)?.meta.filename.includes("fail");
      Object.assign(job, failIt
        ? { status: "failed", error: { code: "inference_error", message: "The model ran out of memory." }, updated_at: now() }
        : { status: "completed", progress: 1, updated_at: now() });
      push(userId, job, failIt ? "job.failed" : "job.completed");
      return;
    }
    i += 1;
    setTimeout(tick, JOB_MS / (steps + 1));
  };
  setTimeout(tick, JOB_MS / (steps + 1));
}

async function api(req, res, url) {
  const path = url.pathname;
  const method = req.method;
  const json = async () => { try { return JSON.parse((await readBody(req)).toString() || "{}"); } catch { return {}; } };

  if (path === "/api/auth/register" && method === "POST") {
    const b = await json();
    if (!b.email?.includes("@")) return fail(res, 422, "invalid", "Enter a valid email address.");
    if ((b.password ?? "").length < 8) return fail(res, 422, "weak_password", "Password is too weak: use at least 8 characters.");
    if ([...users.values()].some((u) => u.email === b.email.toLowerCase())) return fail(res, 409, "email_taken", "An account with this email already exists.");
    const u = { id: randomUUID(), email: b.email.toLowerCase(), display_name: b.display_name ?? null, created_at: now(), password: b.password, preferences: { notifications: true } };
    users.set(u.id, u);
    return send(res, 201, publicUser(u));
  }
  if (path === "/api/auth/login" && method === "POST") {
    const b = await json();
    const u = [...users.values()].find((x) => x.email === (b.email ?? "").toLowerCase());
    if (!u || u.password !== b.password) return fail(res, 401, "invalid_credentials", "Wrong email or password.");
    return send(res, 200, tokensFor(u.id));
  }
  if (path === "/api/auth/refresh" && method === "POST") {
    const b = await json();
    const userId = refresh.get(b.refresh_token);
    if (!userId) return fail(res, 401, "invalid_token", "Session expired. Please log in again.");
    refresh.delete(b.refresh_token);
    return send(res, 200, tokensFor(userId));
  }
  if (path === "/api/auth/logout" && method === "POST") {
    const b = await json();
    refresh.delete(b.refresh_token);
    return send(res, 204);
  }
  const user = authUser(req);
  if (!user) return fail(res, 401, "unauthorized", "Please log in.");

  if (path === "/api/auth/me") {
    if (method === "PATCH") {
      const b = await json();
      if (b.password !== undefined) {
        if (b.current_password !== user.password) return fail(res, 422, "invalid", "The current password is wrong.");
        if (b.password.length < 8) return fail(res, 422, "weak_password", "Password is too weak: use at least 8 characters.");
        user.password = b.password;
      }
      if (b.display_name !== undefined) user.display_name = b.display_name;
      if (b.preferences) user.preferences = { ...user.preferences, ...b.preferences };
    }
    return send(res, 200, publicUser(user));
  }
  if (path === "/api/models") return send(res, 200, { items: MODELS });

  const own = (map, id) => { const e = map.get(id); return e && e.userId === user.id ? e : null; };
  const countIn = (albumId) => [...images.values()].filter((i) => i.meta.album_id === albumId).length;
  let m;
  if (path === "/api/albums") {
    if (method === "POST") {
      const b = await json();
      if (!b.name?.trim()) return fail(res, 422, "invalid", "Give the album a name.");
      const a = { id: randomUUID(), name: b.name.trim(), created_at: now(), userId: user.id };
      albums.set(a.id, a);
      return send(res, 201, { id: a.id, name: a.name, created_at: a.created_at, image_count: 0 });
    }
    const items = [...albums.values()].filter((a) => a.userId === user.id).map((a) => ({ id: a.id, name: a.name, created_at: a.created_at, image_count: countIn(a.id) }));
    return send(res, 200, { items, next_cursor: null });
  }
  if ((m = /^\/api\/albums\/([^/]+)$/.exec(path))) {
    const a = own(albums, m[1]);
    if (!a) return fail(res, 404, "not_found", "No such album.");
    if (method === "DELETE") { albums.delete(a.id); for (const i of images.values()) if (i.meta.album_id === a.id) i.meta.album_id = null; return send(res, 204); }
    if (method === "PATCH") { const b = await json(); if (b.name) a.name = b.name; }
    return send(res, 200, { id: a.id, name: a.name, created_at: a.created_at, image_count: countIn(a.id) });
  }
  if (path === "/api/images") {
    if (method === "POST") {
      const parts = parseMultipart(await readBody(req), req.headers["content-type"]);
      const albumId = parts.find((p) => p.name === "album_id")?.data.toString() || null;
      const out = { images: [], rejected: [] };
      for (const p of parts.filter((x) => x.name === "file")) {
        const magic = p.data.subarray(0, 4).toString("hex");
        if (!["89504e47", "ffd8ffe0", "ffd8ffe1", "52494646"].includes(magic) && !magic.startsWith("ffd8")) { out.rejected.push({ filename: p.filename, error: { code: "not_an_image", message: "This file is not an image we can read." } }); continue; }
        const [width, height] = pngSize(p.data);
        const meta = { id: randomUUID(), album_id: albumId, filename: p.filename, width, height, content_type: p.type, size_bytes: p.data.length, created_at: now() };
        images.set(meta.id, { meta, bytes: p.data, userId: user.id });
        out.images.push(meta);
      }
      if (!out.images.length) return fail(res, 415, out.rejected[0]?.error.code ?? "invalid", out.rejected[0]?.error.message ?? "No file.");
      return send(res, 201, out);
    }
    const albumId = url.searchParams.get("album_id");
    const limit = Number(url.searchParams.get("limit") ?? 40);
    const offset = Number(url.searchParams.get("cursor") ?? 0);
    const all = [...images.values()].filter((i) => i.userId === user.id && (!albumId || i.meta.album_id === albumId)).map((i) => i.meta).reverse();
    return send(res, 200, { items: all.slice(offset, offset + limit), next_cursor: offset + limit < all.length ? String(offset + limit) : null });
  }
  if ((m = /^\/api\/images\/([^/]+)(?:\/(original|thumbnail))?$/.exec(path))) {
    const i = own(images, m[1]);
    if (!i) return fail(res, 404, "not_found", "No such image.");
    if (m[2]) { res.writeHead(200, { "Content-Type": i.meta.content_type }); return res.end(i.bytes); }
    if (method === "DELETE") { images.delete(i.meta.id); return send(res, 204); }
    return send(res, 200, i.meta);
  }
  if (path === "/api/jobs") {
    if (method === "POST") {
      const b = await json();
      const model = MODELS.find((x) => x.type === b.type);
      if (!own(images, b.image_id)) return fail(res, 404, "not_found", "No such image.");
      if (!model) return fail(res, 422, "invalid", "Unknown type.");
      if (!model.available) return fail(res, 409, "model_unavailable", model.reason);
      const job = { id: randomUUID(), image_id: b.image_id, type: b.type, options: { ...Object.fromEntries(model.options.map((o) => [o.name, o.default])), ...b.options }, status: "queued", progress: 0, engine: model.engine, error: null, created_at: now(), updated_at: now() };
      const entry = { job, userId: user.id };
      jobs.set(job.id, entry);
      runJob(entry);
      return send(res, 202, job);
    }
    const q = url.searchParams;
    const items = [...jobs.values()].filter((e) => e.userId === user.id).map((e) => e.job)
      .filter((j) => (!q.get("image_id") || j.image_id === q.get("image_id")) && (!q.get("status") || j.status === q.get("status")) && (!q.get("updated_since") || j.updated_at > q.get("updated_since")))
      .reverse();
    return send(res, 200, { items, next_cursor: null });
  }
  if ((m = /^\/api\/jobs\/([^/]+)(?:\/(cancel|retry|result))?$/.exec(path))) {
    const e = own(jobs, m[1]);
    if (!e) return fail(res, 404, "not_found", "No such job.");
    const job = e.job;
    if (m[2] === "cancel") {
      if (["completed", "failed", "cancelled"].includes(job.status)) return fail(res, 409, "conflict", "This job has already finished.");
      Object.assign(job, { status: "cancelled", updated_at: now() });
      push(user.id, job, "job.cancelled");
    } else if (m[2] === "retry") {
      if (!["failed", "cancelled"].includes(job.status)) return fail(res, 409, "conflict", "Only failed jobs can be retried.");
      Object.assign(job, { status: "queued", progress: 0, error: null, updated_at: now() });
      runJob(e);
      return send(res, 202, job);
    } else if (m[2] === "result") {
      if (job.status !== "completed") return fail(res, 409, "not_ready", "The result is not ready yet.");
      res.writeHead(200, { "Content-Type": "image/png" });
      return res.end(images.get(job.image_id)?.bytes ?? Buffer.alloc(0));
    }
    return send(res, 200, job);
  }
  return fail(res, 404, "not_found", "No such route.");
}

const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname.startsWith("/api/")) {
    api(req, res, url).catch((e) => { console.error(e); fail(res, 500, "internal", "Internal error."); });
    return;
  }
  let file = normalize(join(DIST, url.pathname));
  if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) file = join(DIST, "index.html");
  res.writeHead(200, { "Content-Type": MIME[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
});

const wss = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  if (!req.url.startsWith("/api/notifications/ws")) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const entry = { ws, userId: null, ready: false };
    const timer = setTimeout(() => ws.close(4001, "auth timeout"), 5000);
    ws.on("message", (raw) => {
      let msg; try { msg = JSON.parse(raw.toString()); } catch { return; }
      if (msg.type !== "auth" || entry.ready) return;
      const t = access.get(msg.token);
      if (!t || t.expires < Date.now()) return ws.close(4401, "unauthorized");
      clearTimeout(timer);
      Object.assign(entry, { userId: t.userId, ready: true });
      sockets.add(entry);
      ws.send(JSON.stringify({ type: "ready" }));
    });
    ws.on("close", () => sockets.delete(entry));
  });
});
server.listen(PORT, "127.0.0.1", () => console.log(`mock Renovo on http://127.0.0.1:${PORT}`));
