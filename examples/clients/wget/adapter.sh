#!/bin/sh
# An mdm-harness adapter on GNU wget (1.21.3 certified), with wget's own retries.
#
# Every request is one wget run configured the way wget's manual shows it:
#
#   wget --tries=3 --timeout=T --ca-certificate="$MDM_CA_BUNDLE" ...
#
# (--waitretry keeps its default of 10 s) and nothing else decides a retry: what the harness
# certifies here is wget's behaviour. policy.yaml beside this file declares what wget's
# manual promises.
#
# The adapter protocol (docs/clients.md): MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD,
# MDM_PROXY (empty: none), MDM_CA_BUNDLE (the only CA trusted), MDM_TIMEOUT_MS in; one JSON
# object out. The API flow and the XML live in ../common (flow.sh, mdmapi.py: python3 with
# the standard library's expat, any DOCTYPE refused).

# The only retry setting (see policy.yaml and README.md).
TRIES=3

# A startup file instead of ~/.wgetrc and /etc/wgetrc (--config): the credentials stay off
# the command line where `ps` shows them, and the proxy comes from MDM_PROXY alone.
write_config() {
    umask 077
    {
        printf 'user = %s\npassword = %s\n' "$MDM_USERNAME" "${MDM_PASSWORD-}"
        if [ -n "${MDM_PROXY:-}" ]; then
            printf 'use_proxy = on\nhttps_proxy = %s\n' "$MDM_PROXY"
        else
            printf 'use_proxy = off\n'
        fi
    } >"$work/wgetrc"
}

# fetch METHOD URL [BODY_FILE]: one request; $status and "$work/body", or fail.
fetch() {
    [ -f "$work/wgetrc" ] || write_config
    method=$1 url=$2 body_file=${3:-}
    # --ca-certificate plus an empty --ca-directory: MDM_CA_BUNDLE and nothing else (without
    # a directory wget adds the system trust). -S prints every response head on stderr: the
    # last status line is the answer. --max-redirect=0: credentials stay with the MDM. The
    # default (verbose) log is kept: it alone says why a try failed. No --content-on-error:
    # with it wget keeps an error body and no longer retries a 504 (src/http.c gethttp).
    set -- --config="$work/wgetrc" --server-response --progress=dot:mega --max-redirect=0 \
        --ca-certificate="$MDM_CA_BUNDLE" --ca-directory="$work/no-ca-directory" \
        --timeout="$seconds" --tries="$TRIES" --header="Accept: application/xml" \
        --output-document="$work/body"
    if [ "$method" = POST ]; then
        set -- "$@" --header="Content-Type: application/xml" --post-file="$body_file"
    fi
    rm -f "$work/body"
    wget "$@" "$url" 2>"$work/err"
    rc=$?
    status=$(sed -n 's/^  HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$work/err" | tail -n 1)
    # The last try's log: from the last "--DATE TIME--  URL" line wget prints as a try starts.
    awk '/^--[0-9-]+ [0-9:]+--  / { n = NR } { line[NR] = $0 } END { for (i = n; i <= NR; i++) print line[i] }' \
        "$work/err" | grep -v '^  ' >"$work/last"
    detail="$method $url: $(tr '\n' ' ' <"$work/last")(wget exit code $rc)"
    case $rc in
        0 | 8) [ -n "$status" ] || fail protocol_error "$detail: no HTTP status" ;;
        5) fail tls_error "$detail" ;;
        6) status=401 ;;
        4)
            # A network failure, told apart by what wget logged for the last try. A CONNECT the
            # proxy refused is "Proxy tunneling failed" (then "Unable to establish SSL
            # connection."); a failed handshake names its GnuTLS error; a handshake that timed
            # out is "Unable to establish SSL connection." alone (src/gnutls.c sets ETIMEDOUT
            # without a message); other timeouts say "timed out".
            if grep -q 'Proxy tunneling failed' "$work/last"; then
                fail connection_error "$detail"
            elif grep -q 'GnuTLS: ' "$work/last"; then
                fail tls_error "$detail"
            elif grep -qi 'timed out\|Unable to establish SSL connection' "$work/last"; then
                fail timeout "$detail"
            fi
            fail connection_error "$detail"
            ;;
        *) fail connection_error "$detail" ;;
    esac
    [ -f "$work/body" ] || : >"$work/body"
}

. "$(dirname -- "$0")/../common/flow.sh"
run_operation
