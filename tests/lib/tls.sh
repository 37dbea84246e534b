# tests/lib/tls.sh - a throwaway certificate authority for TLS tests.
#
# `. tests/lib/tls.sh` (after tests/lib/common.sh) gives:
#   make_test_ca DIR   with openssl: DIR/ca.pem (a CA), DIR/server.pem and
#                      DIR/server.key (a server certificate that CA signed,
#                      for 127.0.0.1 and localhost), and DIR/other-ca.pem (a
#                      second CA that signed nothing: "the wrong CA").
#                      Keys are EC P-256, valid one day; readable by the
#                      servers that drop root (mosquitto).

[ -n "${EV_LIB_DIR:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh"

make_test_ca() {
    local d=$1
    mkdir -p "$d"
    (
        set -e
        cd "$d"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
            -subj "/CN=evmon test CA" -keyout ca.key -out ca.pem
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
            -subj "/CN=evmon other CA" -keyout other-ca.key -out other-ca.pem
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >ext.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
            -extfile ext.cnf -out server.pem
        chmod 644 ./*.pem server.key
    ) >"$d/openssl.log" 2>&1
}
