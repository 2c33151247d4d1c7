#!/usr/bin/env bash
# Role: IPVS connection synchronisation daemon on a director (for a
# master/backup pair: the master multicasts its connection table on SYNC_DEV,
# the backup with the same SYNCID receives it, so that it can take over the
# established connections). Both directors must have the same virtual
# services, or the backup drops what it receives.
#
#   director-sync.sh STATE=master|backup [SYNC_DEV=eth1] [SYNCID=7]
#
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${STATE:?STATE (master or backup) is required}"
SYNC_DEV="${SYNC_DEV:-eth1}"
SYNCID="${SYNCID:-7}"


# a daemon left over from a previous run, if any
ipvsadm --stop-daemon "$STATE" >/dev/null 2>&1 || true
run ipvsadm --start-daemon "$STATE" --mcast-interface "$SYNC_DEV" --syncid "$SYNCID"
