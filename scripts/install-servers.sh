#!/usr/bin/env bash
# Installs Debian's PostgreSQL and RabbitMQ packages for `make run`'s private servers (run as root by the
# launcher when their binaries are missing): only the binaries are wanted, so the packages' system services
# are neither started nor enabled. Usage: scripts/install-servers.sh [postgresql] [rabbitmq-server]
set -euo pipefail
packages=("$@")
[ ${#packages[@]} -eq 0 ] && packages=(postgresql rabbitmq-server)
if [ "$(id -u)" != 0 ]; then
  echo "renovo: run as root, or install them yourself: sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi
# policy-rc.d answering 101 ("action forbidden") keeps invoke-rc.d and deb-systemd-invoke from starting them.
policy=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  placed=1
fi
trap '[ "$placed" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for unit in postgresql rabbitmq-server; do
    systemctl disable "$unit" >/dev/null 2>&1 || true
  done
fi
