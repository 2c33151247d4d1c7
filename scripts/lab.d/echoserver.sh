#!/usr/bin/env bash
# Role: echo server for long-lived connections (the HA drill). Each
# connection on PORT gets its own echo-handler.sh (busybox nc -ll -e): every
# line it receives is sent back as "BODY LINE" until "bye" or the end of the
# connection; an HTTP GET or HEAD gets BODY as a 200 answer instead (health
# checks, one-shot clients such as client-poll.sh). Runs in the background.
#
#   echoserver.sh BODY="Webserver 1" [PORT=7]
#
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${BODY:?BODY is required}"
PORT="${PORT:-7}"

echo "+ busybox nc -ll -p $PORT -e $here/echo-handler.sh '$BODY' &"
# setsid: not in our caller's process group; stdio off its pipes
setsid busybox nc -ll -p "$PORT" -e "$here/echo-handler.sh" "$BODY" </dev/null >/dev/null 2>&1 &
