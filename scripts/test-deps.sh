#!/usr/bin/env bash
# Installs the servers the test suite starts on loopback: redis-server (and
# redis-cli, which builds the test Redis Clusters) and MariaDB (mariadbd,
# mariadb-install-db), from Debian's packages, when missing.
# The tests start their own server processes in temp directories; nothing here
# starts a system service.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
{ command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; } &&
	{ command -v mariadb-install-db >/dev/null 2>&1; } || need+=(mariadb-server)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
echo "installing ${need[*]} from Debian's packages" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
