#!/bin/sh
# A bearer token, a CA and a certificate it signs for HOST, in DIR (kept if already there): for a
# trial (docker-compose.yml). In production use the provider's own CA and a token per gateway.
#
#   gateway/make-secrets.sh DIR HOST
set -eu
dir=$1 host=$2
mkdir -p "$dir"
cd "$dir"
[ -s token ] || (umask 077 && openssl rand -hex 32 > token)
if [ ! -s cert.pem ]; then
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=port25 gateway CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$host" -keyout key.pem -out cert.csr 2>/dev/null
    printf 'subjectAltName=DNS:%s\n' "$host" > cert.ext
    openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
        -extfile cert.ext -out cert.pem 2>/dev/null
    rm -f ca.key cert.csr cert.ext ca.srl
    chmod 644 ca.pem cert.pem token key.pem  # read by the portal's containers and the gateway's
fi
