#!/usr/bin/env bash
# Installs and starts what line-popup's tests need: a Redis server on
# 127.0.0.1:6379 and Chromium with chromedriver. Idempotent: safe to run twice.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! redis-cli -p 6379 ping 2>/dev/null | grep -q PONG; then
  redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save '' --appendonly no
  for _ in $(seq 1 50); do
    redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
fi
redis-cli -p 6379 ping | grep -q PONG
echo "line-popup ci-setup: redis on 127.0.0.1:6379, $(chromedriver --version 2>/dev/null | head -1)"
