#!/usr/bin/env bash
# Role: IPVS director whose virtual service `ipvsadm serve` keeps: it writes
# the rules (the service, its real servers and one `#@ health` monitor) to
# RULES and runs `ipvsadm serve RULES` in the foreground until SIGTERM, which
# sets a failing real server's weight to 0 and restores it once it passes its
# checks again. Start it in the background or under a service manager.
#
#   director-serve.sh VIP=192.0.2.1 REALSERVERS="IP[,WEIGHT] ..."
#                     HEALTH="type=HTTP delay=1 timeout=0.5 ..." [FWD=-m]
#                     [VIP_DEV=eth0] [PORT=80] [SCHED=rr] [SVC_OPTS="-p 30"]
#                     [RULES=/run/ipvsadm-rs/lab.rules] [SOCKET=PATH]
#                     [RUN=exec|none]
#
# HEALTH: the monitor's key=value settings (Octavia's names), see
# `ipvsadm serve --help`. FWD: -m (NAT: also sets ip_forward), -g or -i.
# SOCKET: the control socket (`ipvsadm serve status --socket SOCKET`);
# default: the daemon's own. VIP_DEV as in director-nat.sh (empty: no VIP,
# e.g. keepalived places it). RUN=none: write RULES and stop there (a
# service manager runs the daemon, e.g. ipvsadm-serve.service with FILE).
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
: "${HEALTH:?HEALTH (the monitor settings, e.g. type=TCP delay=2 timeout=1) is required}"
VIP_DEV="${VIP_DEV-eth0}"
FWD="${FWD:--m}"
PORT="${PORT:-80}"
SCHED="${SCHED:-rr}"
SVC_OPTS="${SVC_OPTS:-}"
REALSERVERS="${REALSERVERS:-}"
RULES="${RULES:-/run/ipvsadm-rs/lab.rules}"
SOCKET="${SOCKET:-}"
RUN="${RUN:-exec}"

sysctl_set() { echo "+ sysctl $1=$2"; echo "$2" >"/proc/sys/${1//.//}"; }

# NAT: the real servers route their replies back through this host.
[ "$FWD" != -m ] || sysctl_set net.ipv4.ip_forward 1
[ -z "$VIP_DEV" ] || run ip addr replace "$VIP/32" dev "$VIP_DEV"

mkdir -p "$(dirname "$RULES")"
{
    echo "# written by ${0##*/}: ipvsadm rules; '#@ health' is for ipvsadm serve"
    echo "-A -t $VIP:$PORT -s $SCHED${SVC_OPTS:+ $SVC_OPTS}"
    for rs in $REALSERVERS; do
        ip="${rs%%,*}"
        weight=1
        [ "$ip" = "$rs" ] || weight="${rs#*,}"
        echo "-a -t $VIP:$PORT -r $ip:$PORT $FWD -w $weight"
    done
    echo "#@ health -t $VIP:$PORT $HEALTH"
} >"$RULES"
echo "+ cat $RULES"
sed 's/^/  /' "$RULES"
[ "$RUN" != none ] || exit 0
echo "+ exec ipvsadm serve${SOCKET:+ --socket $SOCKET} $RULES"
exec ipvsadm serve ${SOCKET:+--socket "$SOCKET"} "$RULES"
