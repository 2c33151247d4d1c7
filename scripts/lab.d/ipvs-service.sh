#!/usr/bin/env bash
# Program one IPVS virtual TCP service and its real servers with ipvsadm
# (whichever ipvsadm is first in PATH). Used by the director-*.sh roles.
#
#   ipvs-service.sh VIP=192.0.2.1 FWD=-m REALSERVERS="198.51.100.11 198.51.100.12,3"
#                   [PORT=80] [SCHED=rr] [SVC_OPTS="-p 30"]
#
# FWD:         forwarding method: -m (NAT), -g (direct routing), -i (ipip tunnel)
# REALSERVERS: space separated IP[,WEIGHT] (weight 1 when omitted)
# Re-running it replaces the service (idempotent provisioning).
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
: "${FWD:?FWD (-m, -g or -i) is required}"
PORT="${PORT:-80}"
SCHED="${SCHED:-rr}"
SVC_OPTS="${SVC_OPTS:-}"
REALSERVERS="${REALSERVERS:-}"


# a previous run's service, if any (fails quietly on a fresh host)
ipvsadm -D -t "$VIP:$PORT" >/dev/null 2>&1 || true
# shellcheck disable=SC2086 # SVC_OPTS is a list of options
run ipvsadm -A -t "$VIP:$PORT" -s "$SCHED" $SVC_OPTS
for rs in $REALSERVERS; do
    ip="${rs%%,*}"
    weight=1
    [ "$ip" = "$rs" ] || weight="${rs#*,}"
    run ipvsadm -a -t "$VIP:$PORT" -r "$ip:$PORT" "$FWD" -w "$weight"
done
