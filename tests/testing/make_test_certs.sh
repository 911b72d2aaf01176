#!/bin/sh
# make_test_certs.sh DIR: a throwaway CA in DIR (ca.pem), a server
# certificate for 127.0.0.1/localhost (server.pem, server.key) and a client
# certificate (client.pem, client.key), all signed by it. For tests only.
set -eu
dir="$1"
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=presence test CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
cat > server.ext <<EOT
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
EOT
cat > client.ext <<EOT
extendedKeyUsage = clientAuth
EOT
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=presence-$who" \
    -keyout "$who.key" -out "$who.csr" 2>/dev/null
  openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 2 -extfile "$who.ext" -out "$who.pem" 2>/dev/null
done
