#!/usr/bin/env bash
# Vagrant shell provisioner of the Vagrantfile: give this VM its role in
# the lab topology, with the same role scripts the qemu lab runs
# (scripts/lab.d, see its README.md) and the lab's addresses.
#
#   provision.sh director|web1|web2|client     (as root, in the VM)
#
# Environment: LVS_MODE=nat|dr|tun (the topology), LVS_SCHED (scheduler, rr),
# LVS_IPVSADM=auto|deb|build (see install-ipvsadm.sh), LVS_SRC (the synced
# folder, /vagrant).
set -euo pipefail
role="${1:?usage: provision.sh director|web1|web2|client}"
mode="${LVS_MODE:-nat}"
src="${LVS_SRC:-/vagrant}"
labd="$src/scripts/lab.d"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "$mode" in
    nat | dr | tun) ;;
    *) echo "provision.sh: LVS_MODE must be nat, dr or tun, not '$mode'" >&2; exit 2 ;;
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
# busybox (httpd for webserver.sh, nc and timeout for client-get.sh), ip,
# modprobe (realserver-tun.sh).
packages() {
    local need=()
    command -v busybox >/dev/null || need+=(busybox)
    command -v ip >/dev/null || need+=(iproute2)
    command -v modprobe >/dev/null || need+=(kmod)
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
    web1 | web2)
        n="${role#web}"
        if [ "$mode" = nat ]; then
            # Replaces the default route (Vagrant's NAT interface), so this
            # VM reaches no other network afterwards; packages come first.
            "$labd/realserver-nat.sh" GATEWAY="$LAB_DIR_BACK" BODY="Webserver $n"
        else
            rs="LAB_RS${n}_L2"
            "$labd/realserver-$mode.sh" VIP="$LAB_VIP" BODY="Webserver $n" DEV="$(iface_of "${!rs}")"
        fi
        ;;
    client)
        echo "client ready: sudo $src/scripts/vagrant/check.sh"
        ;;
    *)
        echo "provision.sh: unknown role '$role'" >&2
        exit 2
        ;;
esac
