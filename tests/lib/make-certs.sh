#!/bin/sh
# make-certs.sh DIR: the test PKI, made fresh for each run with openssl.
#   ca.pem                 test CA (ECDSA P-256)
#   server.pem/-key.pem    "localhost" (SAN DNS:localhost, IP:127.0.0.1), signed by ca
#   client.pem/-key.pem    client certificate "CN=ktls test client", signed by ca
#   expired.pem/-key.pem   "localhost", expired yesterday, signed by ca
#   other-ca.pem           an unrelated CA, for "untrusted" cases
# ECDSA keys let TLS 1.2 negotiate all four kernel ciphers: the TLS 1.2 CCM
# suites exist only as ECDHE-ECDSA (RFC 7251).
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }
key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

key ca-key.pem
ossl req -x509 -new -key ca-key.pem -subj "/CN=ktls test CA" -days 30 -out ca.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
key other-ca-key.pem
ossl req -x509 -new -key other-ca-key.pem -subj "/CN=ktls other CA" -days 30 -out other-ca.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign

cat > leaf.cnf <<'CNF'
[server]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
CNF

leaf() { # name subject extensions days-args...
	name=$1 subj=$2 ext=$3; shift 3
	key "$name-key.pem"
	ossl req -new -key "$name-key.pem" -subj "$subj" -out "$name.csr"
	ossl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
		-extfile leaf.cnf -extensions "$ext" "$@" -out "$name.pem"
	rm -f "$name.csr"
}
leaf server "/CN=localhost" server -days 30
leaf client "/CN=ktls test client" client -days 30
# openssl x509 cannot back-date; a "not after" in the past comes from -not_after
# only in OpenSSL 3.4+, so use the CA to sign with a start date via 'openssl ca'.
key expired-key.pem
ossl req -new -key expired-key.pem -subj "/CN=localhost" -out expired.csr
mkdir -p ca-db && : > ca-db/index.txt && echo 01 > ca-db/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
dir = ./ca-db
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
CNF
ossl ca -batch -config ca.cnf -cert ca.pem -keyfile ca-key.pem -in expired.csr \
	-startdate 20200101000000Z -enddate 20200201000000Z -extfile leaf.cnf -extensions server \
	-out expired.pem
rm -rf expired.csr ca-db ca.cnf leaf.cnf ca.srl
test -s expired.pem
