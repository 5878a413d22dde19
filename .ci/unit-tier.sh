#!/usr/bin/env bash
# The unit tier (`npx projen test`) as a contributor without root runs it: as an
# unprivileged user, with a PATH that has node, npm and a POSIX sh but none of the
# programs the system tier needs (ip, nginx, wg, wg-quick, wireguard-go, busybox,
# promtool, dnsmasq, nft, iptables, and the linter). `npx projen ci` runs it first.
#
# As root (CI): the tree is copied to a temporary directory that `nobody` owns
# (the clone is root's, and jest writes test-reports/ and coverage/ into it), the
# unit tier runs there as nobody with its own HOME and npm cache, and what it
# records for the system tier (test-reports/, with the rendered nginx.conf files)
# is copied back. As another user: in place, as that user, with the same PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FORBIDDEN=(ip nginx wg wg-quick wireguard-go busybox shellcheck promtool dnsmasq nft iptables iptables-nft iptables-nft-restore iptables-legacy iptables-legacy-restore)

work=$(mktemp -d /tmp/wggw-unit-XXXXXX)
trap 'rm -rf "$work"' EXIT

# The PATH: a directory of links to every program on this PATH but the forbidden ones.
mkdir "$work/bin"
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  for f in "$d"/*; do
    name=${f##*/}
    { [ -f "$f" ] && [ -x "$f" ] && [ ! -e "$work/bin/$name" ]; } || continue
    case " ${FORBIDDEN[*]} " in *" $name "*) continue ;; esac
    ln -s "$f" "$work/bin/$name"
  done
done

if [ "$(id -u)" = 0 ]; then
  echo "::: unit tier as nobody, in a copy of the tree ($work/tree)"
  mkdir "$work/tree" "$work/home"
  tar -C "$ROOT" --exclude=./.git --exclude=./test-reports --exclude=./coverage --exclude=./lib --exclude=./dist -cf - . | tar -C "$work/tree" -xf -
  chown -R nobody:nogroup "$work/tree" "$work/home"
  chmod 755 "$work" "$work/bin"
  as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  tree="$work/tree"
else
  echo "::: unit tier as $(id -un), in place"
  mkdir "$work/home"
  as_user=()
  tree=$ROOT
fi

# A clean environment: what CI and the project's tasks need, nothing else.
# shellcheck disable=SC2016 # the inner script expands its own variables
"${as_user[@]}" env -i PATH="$work/bin" HOME="$work/home" npm_config_cache="$work/home/.npm" LANG=C.UTF-8 CI=true \
  JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 JSII_SILENCE_SUPPORT_WARNING=1 CDK8S_CHECK_UPGRADE=false \
  FORBIDDEN="${FORBIDDEN[*]}" bash -c '
    set -euo pipefail
    echo "user $(id -un) (uid $(id -u)); PATH=$PATH"
    for p in $FORBIDDEN; do
      if found=$(command -v "$p"); then echo "unit tier: $p is on PATH ($found); the unit tier must not need it" >&2; exit 1; fi
    done
    echo "command -v ip nginx wg busybox: $(command -v ip nginx wg busybox || echo "none found, exit $?")"
    cd "$1" && npx projen test
  ' unit-tier "$tree"

if [ "$tree" != "$ROOT" ]; then
  rm -rf "$ROOT/test-reports"
  cp -r "$tree/test-reports" "$ROOT/test-reports"
fi
echo "::: unit tier passed; $(find "$ROOT/test-reports/nginx-confs" -name '*.conf' | wc -l) nginx.conf files recorded for the system tier"
