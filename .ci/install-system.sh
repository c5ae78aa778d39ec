#!/usr/bin/env bash
# Installs the system packages the test suite needs on a fresh Debian 12 machine (run as root):
# a software Vulkan driver new enough for Dawn (lavapipe from Mesa >= 23, bookworm-backports)
# and Debian's chromium (its bundled SwiftShader serves the browser tests; never `playwright install`).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
have_lavapipe() {
  [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] &&
    dpkg --compare-versions "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)" ge 23
}
if have_lavapipe && [ -x /usr/bin/chromium ]; then
  echo "install-system: lavapipe and chromium already present"
  exit 0
fi
apt-get update -qq
apt-get install -y -qq libvulkan1 mesa-vulkan-drivers chromium >/dev/null
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ]; then
  uri=$(awk '/^URIs:/{print $2; exit}' "$src")
else
  uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
fi
printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
  > /etc/apt/sources.list.d/backports.sources
apt-get update -qq
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "install-system: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
