#!/usr/bin/env bash
# fresh-check.sh - the README's two commands as a new user meets them: a
# minimal Debian 12 (bookworm) root made with debootstrap, the project cloned
# into it (the committed HEAD) with the shared folder beside it, then
# the packages (scripts/setup.sh), `make test` and `make demo` inside, each
# timed. Not part of `make test`:
# it downloads a few GB of packages and takes 15-30 minutes.
#
#   sudo scripts/fresh-check.sh [--keep] [--reference-blas] [--shared DIR] [WORKDIR]
#
#   WORKDIR           where the root is made (default /var/tmp/atalla-fresh);
#                     removed first, and afterwards unless --keep
#   --shared DIR      the shared folder to put beside the clone (default ../shared)
#   --reference-blas  afterwards, switch libblas.so.3 to the reference BLAS
#                     inside the root and run the tests again
#   --keep            keep the root (for a look inside)
#
# The mirror is the first Debian URI of this machine's own apt sources, and
# the root gets the same suites (bookworm, -updates, -security). Inside the
# root only git and make are installed by hand (what it takes to clone and
# to type `make`); everything else is the project's own scripts/setup.sh.
# Needs root (debootstrap, chroot, mounts). Exit 0 when both commands pass.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=/var/tmp/atalla-fresh
shared=$(cd "$repo/.." && pwd)/shared
keep=0
refblas=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --reference-blas) refblas=1 ;;
    --shared)
      shift
      [ -d "${1:-}" ] || { echo "fresh-check: --shared: '${1:-}' is not a folder" >&2; exit 2; }
      shared=$(cd "$1" && pwd) ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fresh-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) work=$1 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-check: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
[ -d "$shared/fixtures" ] || { echo "fresh-check: $shared/fixtures not found (use --shared DIR)" >&2; exit 2; }
case "$work" in /|/var|/tmp|/var/tmp|"$repo"*) echo "fresh-check: refusing WORKDIR '$work'" >&2; exit 2 ;; esac

# The mirror: the first Debian URI in this machine's sources (deb822 or
# one-line format).
mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
security=${mirror%/debian}/debian-security

command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }

root=$work/root
log=$work/log
unmount() {
  for m in dev/pts dev proc sys tmp; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true
  done
}
cleanup() {
  unmount
  if [ $keep -eq 0 ] && [ -d "$root" ]; then rm -rf "$root"; fi
}
trap cleanup EXIT

unmount
rm -rf "$root"
mkdir -p "$root" "$log"
stamp() { date +%s; }
t0=$(stamp)

echo "fresh-check: debootstrap bookworm from $mirror into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$log/debootstrap.log" 2>&1 ||
  { tail -20 "$log/debootstrap.log"; exit 1; }
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs tmpfs "$root/tmp"
t1=$(stamp)

in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive bash -c "$1"; }

echo "fresh-check: git and make, then the clone"
in_root "apt-get update -qq && apt-get install -y -qq --no-install-recommends git make ca-certificates" \
  > "$log/prereq.log" 2>&1 || { tail -20 "$log/prereq.log"; exit 1; }
mkdir -p "$root/root/work"
git clone -q "$repo" "$root/root/work/main"
cp -r "$shared" "$root/root/work/shared"
t2=$(stamp)

run_step() { # name command
  local s
  s=$(stamp)
  echo "fresh-check: $1"
  if ! in_root "cd /root/work/main && $2" > "$log/$1.log" 2>&1; then
    tail -40 "$log/$1.log"
    echo "fresh-check: FAILED at '$1' after $(( $(stamp) - s )) s (log: $log/$1.log)"
    exit 1
  fi
  echo "fresh-check: $1 passed in $(( $(stamp) - s )) s"
}
# The packages first, so that `make test` is timed as the newcomer's wait
# once they are installed (its build from nothing plus the tests); then
# `make demo`. Each command runs the setup itself as well.
run_step "setup" "bash scripts/setup.sh"
t3=$(stamp)
run_step "make-test" "make test"
t4=$(stamp)
run_step "make-demo" "make demo"
t5=$(stamp)
blas=$(in_root "readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3")
echo "fresh-check: libblas.so.3 -> $blas"
grep -E "tests passed|Total Test time" "$log/make-test.log" | sed 's/^/fresh-check:   /'
if [ $refblas -eq 1 ]; then
  run_step "reference-blas" "apt-get install -y -qq libblas3 >/dev/null && \
    update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 && \
    build/bin/atalla-run --version | grep BLAS && cd build && ctest --output-on-failure -j2"
  grep -E "tests passed|Total Test time" "$log/reference-blas.log" | sed 's/^/fresh-check:   /'
fi
echo "fresh-check: OK: debootstrap $((t1 - t0)) s, prerequisites and clone $((t2 - t1)) s, packages $((t3 - t2)) s," \
  "make test $((t4 - t3)) s (build from nothing and every test), make demo $((t5 - t4)) s; logs in $log"
