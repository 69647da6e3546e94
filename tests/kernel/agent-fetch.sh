#!/bin/bash
# SPDX-License-Identifier: MIT
#
# agent-fetch.sh: the programs tests/kernel/agent.sh needs that Debian 12
# lacks, fetched into the private cache the way scripts/fetch-kernel-next
# fetches the 7.x kernel (its apt configuration and signed package lists;
# nothing is installed into the system):
#   nfs     Debian 13's nfs-kernel-server and nfs-common: an exportfs and
#           rpc.mountd that know the xprtsec= export option (Debian 12's
#           nfs-utils 2.6.2 does not)
#   tlshd   Debian unstable's ktls-utils (tlshd 1.4.0), to time against
# each unpacked with its shared libraries (and a libc) into
#   $cache/agent/<set>/root/
# and run through that tree's own loader (tests/kernel/agent.sh's with_root).
#
#   usage: tests/kernel/agent-fetch.sh [--offline] nfs|tlshd...
# Prints "<set> <root directory>" per set that is ready; exit 0 when all are,
# 3 when one could not be fetched (the reason on stderr).
set -u

offline=
[ "${1:-}" = --offline ] && { offline=1; shift; }
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KTLS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/libktls}
aptdir=$cache/apt
top=$cache/agent
mkdir -p "$top" || exit 1
top=$(cd "$top" && pwd -P)
exec 9>"$top/.lock"
flock 9

say() { echo "agent-fetch: $*" >&2; }

# The apt configuration and package lists fetch-kernel-next keeps.
if [ ! -s "$aptdir/sources.list" ] && [ -z "$offline" ]; then
	"$src/scripts/fetch-kernel-next" --quiet >/dev/null || true
fi

apt_opts() { # sources-list
	echo -o "Dir::Etc::SourceList=$1" -o Dir::Etc::SourceParts=/dev/null \
		-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache" \
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
		-o Dir::State::status=/dev/null -o "APT::Sandbox::User=$(id -un)" -q
}

# fetch_set NAME SUITES PACKAGE...: the packages and every library they
# need (apt's own dependency walk), newest in SUITES, unpacked into one root.
fetch_set() {
	local name=$1 suites=$2 dir=$top/$1 list pkgs
	shift 2
	if [ -e "$dir/ready" ]; then
		echo "$name $dir/root"
		return 0
	fi
	if [ -n "$offline" ]; then
		say "$name: not cached, and --offline"
		return 3
	fi
	if [ ! -s "$aptdir/sources.list" ]; then
		say "$name: no package lists (scripts/fetch-kernel-next could not run)"
		return 3
	fi
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
	list=$dir.tmp/sources.list
	for s in $suites; do grep " $s main" "$aptdir/sources.list"; done >"$list"
	# shellcheck disable=SC2046
	pkgs=$(apt-cache $(apt_opts "$list") depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null |
		grep -v '^ ' | grep -v '^<' | sort -u |
		grep -E '^(lib|'"$(echo "$@" | tr ' ' '|')"'$)' | grep -vE '^(libpam|libsemanage|libdebconf|libdebian|libtext-|libnewt)')
	if [ -z "$pkgs" ]; then
		say "$name: apt-cache found no packages for $*"
		return 3
	fi
	# shellcheck disable=SC2046
	if ! (cd "$dir.tmp/debs" && apt-get $(apt_opts "$list") download $pkgs) \
		>"$dir.tmp/download.log" 2>&1; then
		sed 's/^/  | /' "$dir.tmp/download.log" >&2
		say "$name: apt-get download failed"
		return 3
	fi
	for deb in "$dir.tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dir.tmp/root" || { say "$name: cannot unpack $deb"; return 3; }
	done
	rm -rf "$dir.tmp/debs"
	echo "$pkgs" | tr '\n' ' ' >"$dir.tmp/packages"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir" && touch "$dir/ready"
	say "$name: ready in $dir/root"
	echo "$name $dir/root"
}

status=0
for set in "$@"; do
	case $set in
	nfs) fetch_set nfs trixie nfs-kernel-server nfs-common libc6 || status=3 ;;
	tlshd) fetch_set tlshd "unstable trixie" ktls-utils libc6 || status=3 ;;
	*) say "unknown set $set"; exit 2 ;;
	esac
done
exit $status
