#!/usr/bin/env bash
# Role: real server for a direct-routing (-g) director.
# The director only rewrites the MAC address, so the server must accept
# packets for the VIP (VIP/32 on lo) without answering ARP for it
# (arp_ignore=1, arp_announce=2), and replies straight to the client.
#
#   realserver-dr.sh VIP=192.0.2.1 BODY="Webserver 1" [DEV=eth0] [DOCROOT=...] [PORT=80]
#
# DEV: the interface facing the director and the clients.
# Settings come from the environment or from NAME=VALUE arguments.
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for a in "$@"; do
    case "$a" in
        [A-Z]*=*) export "${a?}" ;;
        *) echo "realserver-dr.sh: bad argument '$a' (want NAME=VALUE)" >&2; exit 2 ;;
    esac
done
: "${VIP:?VIP is required}"
: "${BODY:?BODY is required}"
DEV="${DEV:-eth0}"

run() { echo "+ $*"; "$@"; }
sysctl_set() { echo "+ sysctl $1=$2"; echo "$2" >"/proc/sys/${1//.//}"; }

sysctl_set net.ipv4.conf.all.arp_ignore 1
sysctl_set net.ipv4.conf.all.arp_announce 2
sysctl_set "net.ipv4.conf.$DEV.arp_ignore" 1
sysctl_set "net.ipv4.conf.$DEV.arp_announce" 2
run ip addr replace "$VIP/32" dev lo
exec "$here/webserver.sh"
