#!/bin/busybox sh
# One connection of echoserver.sh (standard input and output are the
# socket), run by busybox sh (small and static: a new connection every
# 0.1 s stays cheap in the emulated VM): an HTTP GET/HEAD request gets "$1"
# as a 200 answer; any other
# line is sent back prefixed with "$1", until "bye" or end of file.
name="$1"
cr="$(printf '\r')"
IFS= read -r line || exit 0
case "$line" in
    "GET "* | "HEAD "*)
        # the rest of the request first (closing with unread data would reset)
        while IFS= read -r h; do
            case "$h" in "" | "$cr") break ;; esac
        done
        printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n' "$((${#name} + 1))"
        case "$line" in "GET "*) printf '%s\n' "$name" ;; esac
        exit 0
        ;;
esac
while [ "$line" != bye ]; do
    printf '%s %s\n' "$name" "$line"
    IFS= read -r line || exit 0
done
