#!/usr/bin/env bash
# Role: one director of an HA pair: keepalived runs VRRP only (no
# virtual_server: `ipvsadm serve` keeps the table) and moves the VIP;
# its notify script, ipvsadm-sync-notify (packaging/), makes the IPVS
# connection sync daemon master where the VIP is and backup elsewhere.
# Sets the sync sysctls both directors need for failback
# (sync_threshold "3 0", sync_refresh_period SYNC_REFRESH: a connection with
# traffic is sent again at most every SYNC_REFRESH s, so a director that
# comes back as backup receives the connections made meanwhile before it
# takes the VIP back after PREEMPT_DELAY), writes keepalived.conf to CONF,
# then runs keepalived in the foreground (RUN=exec) or leaves it to the
# service manager (RUN=none).
#
#   director-keepalived.sh VIP=192.0.2.1 PRIORITY=250 [VRRP_DEV=eth0]
#       [SYNC_DEV=eth1] [SYNCID=7] [ROUTER_ID=51] [ADVERT_INT=1]
#       [PREEMPT_DELAY=5] [SYNC_REFRESH=1]
#       [NOTIFY=/usr/lib/ipvsadm-rs/ipvsadm-sync-notify] [NOTIFY_LOG=FILE]
#       [CONF=/etc/keepalived/keepalived.conf] [RUN=exec|none]
#       [KEEPALIVED=keepalived] [PIDDIR=/run/keepalived]
#
# Both directors get state BACKUP (the higher PRIORITY becomes master;
# preempt_delay only works from BACKUP). NOTIFY is called with
# --mcast-interface SYNC_DEV --syncid SYNCID --ipvsadm (the ipvsadm first in
# PATH) [--log NOTIFY_LOG]. Settings come from the environment or from
# NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
: "${PRIORITY:?PRIORITY (1-254, the master has the higher one) is required}"
VRRP_DEV="${VRRP_DEV:-eth0}"
SYNC_DEV="${SYNC_DEV:-eth1}"
SYNCID="${SYNCID:-7}"
ROUTER_ID="${ROUTER_ID:-51}"
ADVERT_INT="${ADVERT_INT:-1}"
PREEMPT_DELAY="${PREEMPT_DELAY:-5}"
SYNC_REFRESH="${SYNC_REFRESH:-1}"
NOTIFY="${NOTIFY:-/usr/lib/ipvsadm-rs/ipvsadm-sync-notify}"
NOTIFY_LOG="${NOTIFY_LOG:-}"
CONF="${CONF:-/etc/keepalived/keepalived.conf}"
RUN="${RUN:-exec}"
KEEPALIVED="${KEEPALIVED:-keepalived}"
PIDDIR="${PIDDIR:-/run/keepalived}"

sysctl_set() { echo "+ sysctl $1=\"$2\""; echo "$2" >"/proc/sys/${1//.//}"; }

[ -x "$NOTIFY" ] || { echo "${0##*/}: notify script $NOTIFY is not executable" >&2; exit 1; }
ipvsadm="$(command -v ipvsadm)" || { echo "${0##*/}: no ipvsadm in PATH" >&2; exit 1; }

# /proc/sys/net/ipv4/vs appears with the ip_vs module
[ -d /proc/sys/net/ipv4/vs ] || ipvsadm -L -n >/dev/null
sysctl_set net.ipv4.vs.sync_threshold "3 0"
sysctl_set net.ipv4.vs.sync_refresh_period "$SYNC_REFRESH"

notify="$NOTIFY --mcast-interface $SYNC_DEV --syncid $SYNCID --ipvsadm $ipvsadm${NOTIFY_LOG:+ --log $NOTIFY_LOG}"
mkdir -p "$(dirname "$CONF")"
cat >"$CONF" <<CONF
# written by ${0##*/}: VRRP only; the IPVS table is ipvsadm serve's, the
# sync daemon's role is switched by the notify script
global_defs {
    router_id ${HOSTNAME:-director}-$PRIORITY
    script_user root
}
vrrp_instance VI_1 {
    state BACKUP
    interface $VRRP_DEV
    virtual_router_id $ROUTER_ID
    priority $PRIORITY
    advert_int $ADVERT_INT
    preempt_delay $PREEMPT_DELAY
    virtual_ipaddress {
        $VIP/32 dev $VRRP_DEV
    }
    notify "$notify"
}
CONF
echo "+ cat $CONF"
sed 's/^/  /' "$CONF"

case "$RUN" in
    none) ;;
    exec)
        mkdir -p "$PIDDIR"
        tag="$(basename "$CONF" .conf)"
        echo "+ exec $KEEPALIVED --dont-fork --log-console --no-syslog --vrrp -f $CONF -p $PIDDIR/$tag.pid -r $PIDDIR/$tag-vrrp.pid"
        exec "$KEEPALIVED" --dont-fork --log-console --no-syslog --vrrp -f "$CONF" \
            -p "$PIDDIR/$tag.pid" -r "$PIDDIR/$tag-vrrp.pid"
        ;;
    *) echo "${0##*/}: RUN must be exec or none" >&2; exit 2 ;;
esac
