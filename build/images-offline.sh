#!/usr/bin/env bash
# Build the mtgan-server and mtgan-edge images on a machine without Docker or a registry:
#   1. mmdebstrap makes the two base images the Dockerfiles name from the Debian mirror:
#      debian:bookworm (minbase) and debian:bookworm-slim (minbase + the slim dpkg path-excludes
#      for docs/man/locales, kept in /etc/dpkg/dpkg.cfg.d so later apt installs stay slim), both
#      with the Docker images' apt settings (no translations, no .deb cache, gzip'd indexes);
#   2. buildah imports them as docker.io/library/debian:bookworm{,-slim} (only when missing, so
#      a real pulled image is never replaced unless REBUILD_BASE=1);
#   3. buildah bud --pull=never --isolation chroot builds Dockerfile.server / Dockerfile.edge
#      (the RUN steps still reach the Debian mirror for apt-get) and prints the image sizes.
# Usage: bash build/images-offline.sh [server|edge|all|base]      (default all)
# Env: WORK (/tmp/mtgan-img: rootfs tarballs), TAG (dev), CONTEXT (repo root),
#      MIRROR (http://deb.debian.org/debian), SECURITY_MIRROR (http://deb.debian.org/debian-security),
#      STORAGE_DRIVER (e.g. vfs where overlay does not work), REBUILD_BASE=1 (remake the bases).
# Where buildah or mmdebstrap is missing, or not run as root, prints "skipped: <reason>", exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() { echo "skipped: $*"; exit 0; }
command -v buildah >/dev/null 2>&1 || skip "buildah is not installed (apt-get install buildah)"
command -v mmdebstrap >/dev/null 2>&1 || skip "mmdebstrap is not installed (apt-get install mmdebstrap)"
[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap root mode, buildah --isolation chroot)"

WHAT="${1:-all}"
case "$WHAT" in server|edge|all|base) ;; *) echo "usage: $0 [server|edge|all|base]" >&2; exit 2 ;; esac
WORK="${WORK:-/tmp/mtgan-img}"
TAG="${TAG:-dev}"
CONTEXT="${CONTEXT:-$PWD}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
BUILDAH=(buildah)
if [ -n "${STORAGE_DRIVER:-}" ]; then BUILDAH+=(--storage-driver "$STORAGE_DRIVER"); fi
mkdir -p "$WORK"

# The Docker images' apt configuration (docker-clean, no languages, gzip'd indexes, no suggests).
apt_hook='set -e
cat > "$1/etc/apt/apt.conf.d/docker-clean" <<EOF
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf "%s\n" "#!/bin/sh" "exit 101" > "$1/usr/sbin/policy-rc.d"; chmod 0755 "$1/usr/sbin/policy-rc.d"
rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/ldconfig/aux-cache \
       "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log "$1"/var/log/bootstrap.log
: > "$1/etc/hostname"; : > "$1/etc/resolv.conf"'
SLIM_EXCLUDES=('/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/groff/*'
               '/usr/share/lintian/*' '/usr/share/linda/*' '/usr/share/locale/*')

rootfs_tar() { # the minbase rootfs tarball (debian:bookworm)
  local tar="$WORK/debian-bookworm.tar"
  [ -n "${TAR_DONE:-}" ] && return
  TAR_DONE=1
  if [ "${REBUILD_BASE:-0}" = 1 ] || [ ! -s "$tar" ]; then
    echo "mmdebstrap bookworm (minbase) -> $tar"
    mmdebstrap --mode=root --variant=minbase --format=tar \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --aptopt='Acquire::Languages "none"' --aptopt='Acquire::GzipIndexes "true"' \
      --aptopt='APT::AutoRemove::SuggestsImportant "false"' \
      --customize-hook="$apt_hook" \
      bookworm "$tar.tmp" \
      "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
      "deb $SECURITY_MIRROR bookworm-security main"
    mv "$tar.tmp" "$tar"
  fi
}

slim_tar() { # the same rootfs slimmed as Docker's -slim images are: dpkg path-excludes kept
  local tar="$WORK/debian-bookworm-slim.tar" root="$WORK/slim-root" p
  if [ "${REBUILD_BASE:-0}" = 1 ] || [ ! -s "$tar" ] || [ "$tar" -ot "$WORK/debian-bookworm.tar" ]; then
    echo "slimming $WORK/debian-bookworm.tar -> $tar"
    rm -rf "$root"; mkdir -p "$root"
    tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$WORK/debian-bookworm.tar"
    { echo "# as in Docker's debian:*-slim: no docs (but copyrights), man pages, info or locales"
      for p in "${SLIM_EXCLUDES[@]}"; do echo "path-exclude $p"; done
      echo "path-include /usr/share/doc/*/copyright"; } > "$root/etc/dpkg/dpkg.cfg.d/docker"
    find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    for p in man info groff lintian linda locale; do rm -rf "${root:?}/usr/share/$p/"*; done
    tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -cpf "$tar.tmp" .
    mv "$tar.tmp" "$tar"; rm -rf "$root"
  fi
}

mkbase() { # mkbase bookworm|bookworm-slim: import the tarball as docker.io/library/debian:NAME
  local ref="docker.io/library/debian:$1" tar="$WORK/debian-$1.tar" c m
  if [ "${REBUILD_BASE:-0}" != 1 ] && "${BUILDAH[@]}" inspect --type image "$ref" >/dev/null 2>&1; then
    echo "base $ref: present"; return
  fi
  rootfs_tar
  if [ "$1" = bookworm-slim ]; then slim_tar; fi
  echo "base $ref: import $tar"
  "${BUILDAH[@]}" rmi "$ref" >/dev/null 2>&1 || true
  c=$("${BUILDAH[@]}" from --pull=never scratch)
  m=$("${BUILDAH[@]}" mount "$c")
  tar -C "$m" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tar" --exclude='./dev/*'
  "${BUILDAH[@]}" umount "$c" >/dev/null
  "${BUILDAH[@]}" config --os linux --arch amd64 --cmd '["bash"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
  "${BUILDAH[@]}" commit --rm -q "$c" "$ref" >/dev/null
}

# Sizes as buildah/docker images print them (uncompressed layers, decimal units) and in MB.
size_of() { "${BUILDAH[@]}" images --format '{{.Size}}' "$1" | head -n1; }
to_mb() { awk -v s="$1" 'BEGIN { split(s, a, " "); f = a[2] == "GB" ? 1000 : a[2] == "kB" ? 0.001 : a[2] == "B" ? 1e-6 : 1; printf "%.1f", a[1] * f }'; }

build() { # build server|edge
  "${BUILDAH[@]}" bud --pull=never --isolation chroot --layers -f "$CONTEXT/Dockerfile.$1" \
    -t "localhost/mtgan-$1:$TAG" "$CONTEXT"
}

report() {
  local base total img
  base=$(to_mb "$(size_of docker.io/library/debian:bookworm-slim)")
  echo "debian:bookworm-slim (runtime base): $base MB"
  for img in "$@"; do
    total=$(to_mb "$(size_of "localhost/mtgan-$img:$TAG")")
    echo "mtgan-$img:$TAG: $total MB, $(awk -v t="$total" -v b="$base" 'BEGIN { printf "%.1f", t - b }') MB beyond the base (uncompressed)"
  done
}

case "$WHAT" in
  base) mkbase bookworm; mkbase bookworm-slim ;;
  server|edge) mkbase bookworm; mkbase bookworm-slim; build "$WHAT"; report "$WHAT" ;;
  all) mkbase bookworm; mkbase bookworm-slim; build server; build edge; report server edge ;;
esac
