#!/usr/bin/env bash
# The stand-ins' common base: Debian SUITE minbase in ROOTFS, made container-friendly, packed into TARBALL for
# `docker import`. Usage: rootfs.sh SUITE ROOTFS MIRROR TARBALL
set -euo pipefail
suite="$1" rootfs="$2" mirror="$3" tarball="$4"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror"
# As Docker's official Debian images: no service starts during a build, and apt keeps no downloaded packages.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90folio-standin"
printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n' >>"$rootfs/etc/apt/apt.conf.d/90folio-standin"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
tar --numeric-owner --xattrs -C "$rootfs" -cf "$tarball" .
