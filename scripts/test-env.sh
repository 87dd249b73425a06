#!/usr/bin/env bash
# Makes sure what the test suite talks to is present, then runs the given command.
#   - Debian packages: mosquitto + mosquitto-clients (interop and bridge tests), redis-server,
#     chromium (browser tests drive /usr/bin/chromium with playwright-core; no browser downloads).
#     Installed with apt-get when missing (CI and fresh machines run as root).
#   - A Redis at 127.0.0.1:6379, started here unless one already answers.
# Usage: bash scripts/test-env.sh <command> [args...]
set -euo pipefail

need=()
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  echo "test-env: installing ${need[*]} with apt-get" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# mosquitto's Debian package starts a system service on port 1883 on some machines;
# our tests start their own instances on free ports and never rely on it.

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test-env: starting redis-server on 127.0.0.1:6379" >&2
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no \
    --logfile /tmp/embedmq-test-redis.log >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

exec "$@"
