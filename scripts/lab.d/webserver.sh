#!/usr/bin/env bash
# Role: web server. Serves BODY as / with busybox httpd (daemonised).
#
#   webserver.sh BODY="Webserver 1" [DOCROOT=/srv/lab-www] [PORT=80]
#
# Settings come from the environment or from NAME=VALUE arguments (so the
# script also works as a Vagrant shell provisioner: `env:` or `args:`).
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${BODY:?BODY is required}"
DOCROOT="${DOCROOT:-/srv/lab-www}"
PORT="${PORT:-80}"


mkdir -p "$DOCROOT"
printf '%s\n' "$BODY" >"$DOCROOT/index.html"
echo "+ echo '$BODY' > $DOCROOT/index.html"
# httpd forks into the background; keep its stdio off our caller's pipes.
run busybox httpd -p "$PORT" -h "$DOCROOT" </dev/null >/dev/null 2>&1
