#!/usr/bin/env bash
# Sourced by the role scripts: NAME=VALUE arguments become environment
# settings, and `run` echoes a command before running it.
# shellcheck disable=SC2034  # `here` is for the sourcing script
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
for a in "$@"; do
    case "$a" in
        [A-Z]*=*) export "${a?}" ;;
        *) echo "${0##*/}: bad argument '$a' (want NAME=VALUE)" >&2; exit 2 ;;
    esac
done
run() { echo "+ $*"; "$@"; }
