#!/usr/bin/env bash
# Role: IPVS director, direct routing (-g).
#
#   director-dr.sh VIP=192.0.2.1 REALSERVERS="IP[,WEIGHT] ..." [VIP_DEV=eth0]
#                  [PORT=80] [SCHED=rr] [SVC_OPTS="-p 30"]
#
# VIP_DEV: interface that gets VIP/32; empty: do not add the VIP (e.g. a
# standby director that programs the service but does not own the address).
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
VIP_DEV="${VIP_DEV-eth0}"


[ -z "$VIP_DEV" ] || run ip addr replace "$VIP/32" dev "$VIP_DEV"
exec "$here/ipvs-service.sh" FWD=-g
