#!/bin/sh
# Serve the gateway from a clone of the repository, as root (nft needs CAP_NET_ADMIN):
#
#   GATEWAY_TOKEN=$(openssl rand -hex 32) gateway/run.sh
#
# The first run makes gateway/.venv with the gateway's own requirements (nothing of the portal's).
# Configuration: GATEWAY_* in the environment (docs/gateway.md); without TLS it listens on 127.0.0.1.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x gateway/.venv/bin/python ]; then
    python3 -m venv gateway/.venv
    gateway/.venv/bin/pip install --quiet --disable-pip-version-check -r gateway/requirements.txt
fi
exec gateway/.venv/bin/python -m gateway
