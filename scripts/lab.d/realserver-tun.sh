#!/usr/bin/env bash
# Role: real server for an IP-in-IP tunnelling (-i) director.
# The director wraps each packet in an outer IPv4 header addressed to this
# server; the ipip fallback device tunl0 unwraps it. The VIP sits on tunl0,
# the server does not answer ARP for it (arp_ignore=1, arp_announce=2) and
# replies straight to the client. rp_filter=0: the inner source (the client)
# arrives on tunl0 although the route back to it leaves by DEV.
#
#   realserver-tun.sh VIP=192.0.2.1 BODY="Webserver 1" [DEV=eth0] [DOCROOT=...] [PORT=80]
#
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
# shellcheck source-path=SCRIPTDIR source=role-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/role-lib.sh"
: "${VIP:?VIP is required}"
: "${BODY:?BODY is required}"
DEV="${DEV:-eth0}"

sysctl_set() { echo "+ sysctl $1=$2"; echo "$2" >"/proc/sys/${1//.//}"; }

[ -e /sys/class/net/tunl0 ] || run modprobe ipip
sysctl_set net.ipv4.conf.all.arp_ignore 1
sysctl_set net.ipv4.conf.all.arp_announce 2
sysctl_set "net.ipv4.conf.$DEV.arp_ignore" 1
sysctl_set "net.ipv4.conf.$DEV.arp_announce" 2
sysctl_set net.ipv4.conf.all.rp_filter 0
sysctl_set net.ipv4.conf.tunl0.rp_filter 0
run ip link set tunl0 up
run ip addr replace "$VIP/32" dev tunl0
exec "$here/webserver.sh"
