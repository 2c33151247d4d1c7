#!/usr/bin/env bash
# Role: web server. Serves BODY as / with busybox httpd (daemonised).
#
#   webserver.sh BODY="Webserver 1" [DOCROOT=/srv/lab-www] [PORT=80]
#
# Settings come from the environment or from NAME=VALUE arguments (so the
# script also works as a Vagrant shell provisioner: `env:` or `args:`).
set -eu
for a in "$@"; do
    case "$a" in
        [A-Z]*=*) export "${a?}" ;;
        *) echo "webserver.sh: bad argument '$a' (want NAME=VALUE)" >&2; exit 2 ;;
    esac
done
: "${BODY:?BODY is required}"
DOCROOT="${DOCROOT:-/srv/lab-www}"
PORT="${PORT:-80}"

run() { echo "+ $*"; "$@"; }

mkdir -p "$DOCROOT"
printf '%s\n' "$BODY" >"$DOCROOT/index.html"
echo "+ echo '$BODY' > $DOCROOT/index.html"
# httpd forks into the background; keep its stdio off our caller's pipes.
run busybox httpd -p "$PORT" -h "$DOCROOT" </dev/null >/dev/null 2>&1
