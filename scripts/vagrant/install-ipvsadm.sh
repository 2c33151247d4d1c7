#!/usr/bin/env bash
# Install our ipvsadm on a Vagrant VM (as root), from the synced folder:
# the Debian package target/debian/ipvsadm-rs_*.deb if there is one (built
# on the host by `cargo deb` or scripts/check-deb), otherwise built in the
# VM with cargo and installed by scripts/install (under /usr/local).
#
# LVS_IPVSADM=auto (default) | deb (fail without a .deb) | build (ignore it)
# LVS_SRC: the synced folder (/vagrant).
set -euo pipefail
src="${LVS_SRC:-/vagrant}"
how="${LVS_IPVSADM:-auto}"
export DEBIAN_FRONTEND=noninteractive

deb=""
for f in "$src"/target/debian/ipvsadm-rs_*_"$(dpkg --print-architecture)".deb; do
    [ -e "$f" ] || continue
    if [ -z "$deb" ] || [ "$f" -nt "$deb" ]; then deb="$f"; fi
done

case "$how" in
    auto | deb | build) ;;
    *) echo "install-ipvsadm.sh: LVS_IPVSADM must be auto, deb or build" >&2; exit 2 ;;
esac
if [ "$how" = deb ] && [ -z "$deb" ]; then
    echo "install-ipvsadm.sh: no $src/target/debian/ipvsadm-rs_*.deb (run cargo deb on the host)" >&2
    exit 1
fi

if [ -n "$deb" ] && [ "$how" != build ]; then
    echo "+ apt-get install $deb"
    apt-get update -qq
    apt-get install -y -qq "$deb"
else
    # A Rust toolchain recent enough for the crate (rust-version in
    # Cargo.toml): Debian's rustc is older, so rustup's stable.
    export PATH="$HOME/.cargo/bin:$PATH"
    if ! command -v cargo >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends ca-certificates curl gcc libc6-dev
        echo "+ rustup (minimal profile, stable)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    fi
    "$src/scripts/install"
fi
command -v ipvsadm
ipvsadm -v
