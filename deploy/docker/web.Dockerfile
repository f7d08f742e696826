# syntax=docker/dockerfile:1
# Renovo gateway: the built web app served by nginx, which also routes /api to the services.
# Build from the repository root (deploy/docker-compose.yml does this):
#   docker build -f deploy/docker/web.Dockerfile -t renovo/gateway .
# nginx runs unprivileged (uid 101) on 8080 (HTTP), 8443 (HTTPS, when deploy/nginx/tls has a
# server-tls.conf) and 8081 (its own /healthz, not published).

FROM node:22.12.0-bookworm-slim AS build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM nginxinc/nginx-unprivileged:1.27.3-alpine
COPY deploy/nginx/gateway.conf /etc/nginx/conf.d/default.conf
COPY deploy/nginx/renovo-locations.conf deploy/nginx/security-headers.conf /etc/nginx/renovo/
COPY deploy/nginx/tls/*.example /etc/nginx/renovo/tls/
COPY --from=build /web/dist /usr/share/nginx/html
USER 101:101
EXPOSE 8080 8443
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8081/healthz"]
