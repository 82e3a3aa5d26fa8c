#!/usr/bin/env bash
# Builds (once) a Debian sid chroot holding matrix-synapse, cached outside the checkout,
# plus a config template (secrets + signing key from `--generate-config`) that
# test/harness/synapse.ts copies into each per-run data dir.
# Idempotent and safe to run concurrently (flock): a finished chroot is marked with a stamp file.
set -euo pipefail
ROOT="${CHATRIXCD_SYNAPSE_ROOT:-/var/cache/chatrixcd/synapse-sid}"
STAMP="$ROOT/.chatrixcd-ready"
TEMPLATE="$ROOT/srv/chatrixcd-template"
MIRROR="${CHATRIXCD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

ready() { [ -f "$STAMP" ] && [ -f "$TEMPLATE/.ready" ] && [ "$(cat "$TEMPLATE/.ready")" = "$(cat "$STAMP")" ]; }
if ready; then echo "synapse chroot ready: $ROOT ($(cat "$STAMP"))"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "provision.sh: needs root (debootstrap, chroot)" >&2; exit 3; fi

mkdir -p "$(dirname "$ROOT")"
exec 9>"$(dirname "$ROOT")/.provision.lock"
flock 9                       # another process may be provisioning right now: wait for it
if ready; then echo "synapse chroot ready: $ROOT ($(cat "$STAMP"))"; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
if [ ! -f "$STAMP" ]; then
  if ! command -v debootstrap >/dev/null; then
    apt-get install -y -qq debootstrap >/dev/null
  fi
  if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    rm -rf "$ROOT.partial"
    echo "provision.sh: debootstrap sid into $ROOT (about a minute)..." >&2
    debootstrap --variant=minbase sid "$ROOT.partial" "$MIRROR" >"$(dirname "$ROOT")/debootstrap.log" 2>&1 \
      || { tail -20 "$(dirname "$ROOT")/debootstrap.log" >&2; exit 1; }
    mv "$ROOT.partial" "$ROOT"
  fi
  echo "provision.sh: installing matrix-synapse in the chroot..." >&2
  chroot "$ROOT" apt-get -o Acquire::Check-Valid-Until=false update -qq
  chroot "$ROOT" apt-get -f install -y -qq >/dev/null || true
  chroot "$ROOT" apt-get install -y -qq --no-install-recommends matrix-synapse >/dev/null
  chroot "$ROOT" apt-get clean
  chroot "$ROOT" dpkg-query -W -f '${Version}' matrix-synapse > "$STAMP.tmp"
  mv "$STAMP.tmp" "$STAMP"
fi

# Config template: generated once per Synapse version (takes ~3 s, so not per test run).
# Runs in a private mount namespace: the /proc bind mount vanishes with the process.
rm -rf "$TEMPLATE"; mkdir -p "$TEMPLATE"
unshare --mount --propagation private -- /bin/sh -c '
  mountpoint -q "$1/proc" || mount --bind /proc "$1/proc"
  exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
    /usr/bin/python3 -m synapse.app.homeserver --server-name localhost \
      --config-path /srv/chatrixcd-template/homeserver.yaml --data-directory /srv/chatrixcd-template \
      --generate-config --report-stats=no' sh "$ROOT" >/dev/null
cp "$STAMP" "$TEMPLATE/.ready"
echo "synapse chroot ready: $ROOT ($(cat "$STAMP"))"
