#!/bin/sh
# An mdm-harness adapter on curl (7.88.1 certified), with curl's own --retry.
#
# Every request is one curl run configured the way curl's manual shows it:
#
#   curl --retry 3 --connect-timeout T --max-time T --cacert "$MDM_CA_BUNDLE" ...
#
# and nothing else decides a retry: what the harness certifies here is curl's behaviour.
# policy.yaml beside this file declares what curl's manual promises for --retry.
#
# The adapter protocol (docs/clients.md): MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD,
# MDM_PROXY (empty: none), MDM_CA_BUNDLE (the only CA trusted), MDM_TIMEOUT_MS in; one JSON
# object out. The API flow and the XML live in ../common (flow.sh, mdmapi.py: python3 with
# the standard library's expat, any DOCTYPE refused).

# The only retry setting (see policy.yaml and README.md).
RETRIES=3

# config_quote TEXT: TEXT inside the double quotes of a curl config line.
config_quote() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

# fetch METHOD URL [BODY_FILE]: one request; $status and "$work/body", or fail.
fetch() {
    # -q first: no ~/.curlrc. Only https, no redirects (credentials stay with the MDM).
    # --cacert plus an empty --capath: MDM_CA_BUNDLE and nothing else (curl would add the
    # system CA directory). The credentials come in a config on stdin, never on the command
    # line where `ps` shows them. --max-time bounds each attempt ("the maximum time counter
    # is reset each time the transfer is retried", man curl).
    set -- "$1" "$2" "${3:-}" -q --silent --show-error --proto =https --max-redirs 0 \
        --cacert "$MDM_CA_BUNDLE" --capath "$work/no-ca-directory" \
        --connect-timeout "$seconds" --max-time "$seconds" --retry "$RETRIES" \
        --header "Accept: application/xml" --output "$work/body" --write-out "%{http_code}" \
        --config -
    if [ -n "${MDM_PROXY:-}" ]; then
        set -- "$@" --proxy "$MDM_PROXY"
    else
        set -- "$@" --noproxy "*"
    fi
    if [ "$1" = POST ]; then
        set -- "$@" --header "Content-Type: application/xml" --data-binary "@$3"
    fi
    method=$1 url=$2
    shift 3
    rm -f "$work/body"
    status=$(printf 'user = "%s:%s"\nurl = "%s"\n' "$(config_quote "$MDM_USERNAME")" \
        "$(config_quote "${MDM_PASSWORD-}")" "$(config_quote "$url")" | curl "$@" 2>"$work/err")
    rc=$?
    detail="$method $url: $(tr '\n' ' ' <"$work/err")(curl exit code $rc)"
    case $rc in
        0) ;;
        28) fail timeout "$detail" ;;
        35 | 51 | 53 | 54 | 58 | 59 | 60 | 64 | 66 | 77 | 80 | 82 | 83 | 90 | 91) fail tls_error "$detail" ;;
        1 | 3 | 8 | 47) fail protocol_error "$detail" ;;
        *) fail connection_error "$detail" ;;
    esac
    [ -f "$work/body" ] || : >"$work/body"
}

. "$(dirname -- "$0")/../common/flow.sh"
run_operation
