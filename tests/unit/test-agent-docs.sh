#!/bin/bash
# What a distribution ships for ktls agent in tlshd's place: the man page
# renders without warnings and names every option `ktls agent --help` lists;
# the systemd unit passes systemd-analyze verify with ExecStart on this
# build's ktls.
# Arguments: the ktls binary, the man page, the generated unit.
set -u
ktls=$1 man=$2 unit=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/ktls-agent-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT
case_no=0 failed=0
ok() { echo "ok $((case_no += 1)) - $1"; }
skip() { echo "ok $((case_no += 1)) - $1 # SKIP $2"; }
not_ok() {
	echo "not ok $((case_no += 1)) - $1"
	failed=$((failed + 1))
	shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/#   /' "$f"; done
}

if ! command -v groff >/dev/null; then
	skip "the man page renders" "groff is not installed"
elif groff -man -ww -z "$man" >"$work/groff.err" 2>&1 && [ ! -s "$work/groff.err" ]; then
	ok "ktls-agent.8 renders with groff -man -ww, no warnings"
else
	not_ok "groff -man -ww ktls-agent.8" "$work/groff.err"
fi

"$ktls" agent --help >"$work/help" 2>&1
missing=
for opt in $(grep -o -- '--[a-z][a-z-]*' "$work/help" | sort -u); do
	grep -qF -- "$(echo "$opt" | sed 's/-/\\-/g')" "$man" || missing="$missing $opt"
done
if [ -s "$work/help" ] && [ -z "$missing" ]; then
	ok "every option of 'ktls agent --help' is in the man page"
else
	not_ok "options missing from ktls-agent.8:$missing" "$work/help"
fi

if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify" "systemd-analyze is not installed"
else
	grep -q '^ExecStart=.*/ktls agent$' "$unit" || not_ok "the unit's ExecStart is not 'ktls agent'" "$unit"
	sed "s|^ExecStart=.*|ExecStart=$(realpath "$ktls") agent|" "$unit" >"$work/ktls-agent.service"
	if systemd-analyze verify --man=no "$work/ktls-agent.service" >"$work/verify.err" 2>&1 &&
		! grep -v 'tlshd.service' "$work/verify.err" | grep -q .; then
		ok "ktls-agent.service passes systemd-analyze verify"
	else
		not_ok "systemd-analyze verify ktls-agent.service" "$work/verify.err"
	fi
fi
echo "1..$case_no"
[ "$failed" -eq 0 ]
