#!/usr/bin/env bash
# Vagrant shell provisioner of the Vagrantfile: give this VM its role in
# the lab topology, with the same role scripts the qemu lab runs
# (scripts/lab.d, see its README.md) and the lab's addresses.
#
#   provision.sh director|director-a|director-b|web1|web2|client   (as root, in the VM)
#
# LVS_MODE=ha (director-a, director-b): the HA pair of the lab's
# ha-failover scenario: keepalived (Debian's) for VRRP only with the notify
# script ipvsadm-sync-notify, ipvsadm-serve.service on the same FILE (the
# echo service VIP:7, TCP monitor), the sync sysctls; the web servers also
# run the echo server (echoserver.sh) beside httpd.
#
# Environment: LVS_MODE=nat|dr|tun|ha (the topology), LVS_SCHED (scheduler, rr),
# LVS_IPVSADM=auto|deb|build (see install-ipvsadm.sh), LVS_SRC (the synced
# folder, /vagrant).
set -euo pipefail
role="${1:?usage: provision.sh director|director-a|director-b|web1|web2|client}"
mode="${LVS_MODE:-nat}"
src="${LVS_SRC:-/vagrant}"
labd="$src/scripts/lab.d"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "$mode" in
    nat | dr | tun | ha) ;;
    *) echo "provision.sh: LVS_MODE must be nat, dr, tun or ha, not '$mode'" >&2; exit 2 ;;
esac

# The lab's addresses (LAB_VIP, LAB_DIR, ...): common.sh only defines
# variables and functions when sourced.
# shellcheck source-path=SCRIPTDIR source=../lab.d/common.sh disable=SC1091
. "$labd/common.sh"

# iface_of ADDR: the interface that holds ADDR (Vagrant configured it).
iface_of() {
    local dev
    dev="$(ip -o -4 addr show | awk -v a="$1" '{ split($4, p, "/"); if (p[1] == a) { print $2; exit } }')"
    if [ -z "$dev" ]; then
        echo "provision.sh: no interface has $1 (is the private network up?)" >&2
        exit 1
    fi
    printf '%s\n' "$dev"
}

# The commands the role scripts use, from Debian's packages if missing:
# busybox (httpd for webserver.sh, nc and timeout for client-get.sh, nc and
# sh for echoserver.sh), ip, modprobe (realserver-tun.sh), keepalived (the
# HA directors).
packages() {
    local need=()
    command -v busybox >/dev/null || need+=(busybox)
    command -v ip >/dev/null || need+=(iproute2)
    command -v modprobe >/dev/null || need+=(kmod)
    case "$role" in director-*) command -v keepalived >/dev/null || need+=(keepalived) ;; esac
    if [ "${#need[@]}" -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
}

echo "== $role ($mode)"
packages

case "$role" in
    director)
        "$here/install-ipvsadm.sh"
        front="$(iface_of "$LAB_DIR")"
        sched="${LVS_SCHED:-rr}"
        if [ "$mode" = nat ]; then
            "$labd/director-nat.sh" VIP="$LAB_VIP" VIP_DEV="$front" SCHED="$sched" \
                REALSERVERS="$LAB_RS1_NAT $LAB_RS2_NAT"
        else
            "$labd/director-$mode.sh" VIP="$LAB_VIP" VIP_DEV="$front" SCHED="$sched" \
                REALSERVERS="$LAB_RS1_L2 $LAB_RS2_L2"
        fi
        ipvsadm -L -n
        ;;
    director-a | director-b)
        [ "$mode" = ha ] || { echo "provision.sh: $role is for LVS_MODE=ha" >&2; exit 2; }
        "$here/install-ipvsadm.sh"
        if [ "$role" = director-a ]; then
            front="$(iface_of "$LAB_DIR")" sync="$(iface_of "$LAB_SYNC_A")" prio=250
        else
            front="$(iface_of "$LAB_DIR_B")" sync="$(iface_of "$LAB_SYNC_B")" prio=240
        fi
        # the notify script: the package's, or the one of scripts/install,
        # or this checkout's
        notify=""
        for f in /usr/lib/ipvsadm-rs/ipvsadm-sync-notify /usr/local/lib/ipvsadm-rs/ipvsadm-sync-notify; do
            [ -x "$f" ] && { notify="$f"; break; }
        done
        if [ -z "$notify" ]; then
            notify=/usr/local/lib/ipvsadm-rs/ipvsadm-sync-notify
            install -D -m 755 "$src/packaging/ipvsadm-sync-notify" "$notify"
        fi
        # ipvsadm serve: the same FILE on both, no VIP (keepalived's)
        "$labd/director-serve.sh" VIP="$LAB_VIP" VIP_DEV= FWD=-g PORT=7 SCHED="${LVS_SCHED:-rr}" \
            REALSERVERS="$LAB_RS1_L2 $LAB_RS2_L2" RULES=/etc/ipvsadm-serve.rules RUN=none \
            HEALTH="type=TCP delay=1 timeout=0.5 max_retries=2 max_retries_down=2"
        if systemctl cat ipvsadm-serve.service >/dev/null 2>&1; then
            defaults=/etc/default/ipvsadm-serve
            if grep -q '^FILE=' "$defaults" 2>/dev/null; then
                sed -i 's|^FILE=.*|FILE=/etc/ipvsadm-serve.rules|' "$defaults"
            else
                echo 'FILE=/etc/ipvsadm-serve.rules' >>"$defaults"
            fi
            systemctl enable ipvsadm-serve.service
            systemctl restart ipvsadm-serve.service
        else
            systemctl stop ipvsadm-serve.service 2>/dev/null || true
            systemd-run --unit ipvsadm-serve "$(command -v ipvsadm)" serve /etc/ipvsadm-serve.rules
        fi
        # keepalived: VRRP only, the sync daemon switched by the notify script
        "$labd/director-keepalived.sh" VIP="$LAB_VIP" PRIORITY="$prio" VRRP_DEV="$front" SYNC_DEV="$sync" \
            SYNCID=7 ADVERT_INT=1 PREEMPT_DELAY=5 SYNC_REFRESH=1 NOTIFY="$notify" \
            CONF=/etc/keepalived/keepalived.conf RUN=none
        # the same after a reboot (keepalived and ipvsadm-serve are enabled)
        echo ip_vs >/etc/modules-load.d/ipvsadm-rs-ha.conf
        printf '%s\n' 'net.ipv4.vs.sync_threshold = 3 0' 'net.ipv4.vs.sync_refresh_period = 1' \
            >/etc/sysctl.d/60-ipvsadm-rs-ha.conf
        echo 'DAEMON_ARGS="--vrrp"' >/etc/default/keepalived
        systemctl enable keepalived.service
        systemctl restart keepalived.service
        sleep 5
        ip -br addr
        ipvsadm -L -n
        ipvsadm -L --daemon
        ;;
    web1 | web2)
        n="${role#web}"
        if [ "$mode" = nat ]; then
            # Replaces the default route (Vagrant's NAT interface), so this
            # VM reaches no other network afterwards; packages come first.
            "$labd/realserver-nat.sh" GATEWAY="$LAB_DIR_BACK" BODY="Webserver $n"
        else
            rs="LAB_RS${n}_L2"
            realserver=dr
            [ "$mode" = ha ] || realserver="$mode"
            "$labd/realserver-$realserver.sh" VIP="$LAB_VIP" BODY="Webserver $n" DEV="$(iface_of "${!rs}")"
            # the HA pair balances the echo service VIP:7 (long-lived connections)
            [ "$mode" != ha ] || "$labd/echoserver.sh" BODY="Webserver $n" PORT=7
        fi
        ;;
    client)
        echo "client ready: sudo $src/scripts/vagrant/check.sh"
        [ "$mode" != ha ] || echo "HA pair: sudo $src/scripts/vagrant/check.sh PORT=7 (the echo service); the drill: README, HA drill"
        ;;
    *)
        echo "provision.sh: unknown role '$role'" >&2
        exit 2
        ;;
esac
