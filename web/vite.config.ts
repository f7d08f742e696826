import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The gateway serves dist/ and proxies /api on the same origin; `npm run dev` proxies to a local gateway.
const target = process.env.RENOVO_API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: { proxy: { "/api": { target, ws: true } } },
  build: { outDir: "dist", sourcemap: false },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    testTimeout: 30_000,
  },
});
