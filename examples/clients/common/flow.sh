# flow.sh - the ISE MDM API side of the gallery's shell adapters (curl, wget). POSIX sh.
#
# Sourced by an adapter after it has defined
#
#   fetch METHOD URL [BODY_FILE]
#
# which runs one request through its HTTP tool (with the tool's own retries and nothing
# else), writes the response body to "$work/body", sets $status to the last HTTP status and
# returns; on a transport failure it calls `fail CATEGORY MESSAGE` instead. This file then
# runs the operation: discovery (version 3), then the lookup (following paging), the
# non-compliant listing or the action, and prints the one JSON object of the adapter protocol.
#
# The XML is read by mdmapi.py beside this file (python3, standard library expat, any
# DOCTYPE refused): the shell never looks inside a body. python3 must be on PATH.

set -u
LC_ALL=C
export LC_ALL
common=$(CDPATH= cd -- "$(dirname -- "$0")/../common" && pwd) || exit 2

helper() {
    python3 -I "$common/mdmapi.py" "$@"
}

# Print an error object and stop (exit 0: an error is a proper answer, not a crash).
fail() {
    helper error "$1" "$2"
    exit 0
}

# Stop with the protocol's category unless the last answer was a 2xx.
check() {
    helper status "$status" "$1" || exit 0
}

for name in MDM_BASE_URL MDM_USERNAME MDM_CA_BUNDLE; do
    eval "value=\${$name-}"
    if [ -z "$value" ]; then
        echo "$0: $name is not set" >&2
        exit 2
    fi
done
timeout_ms=${MDM_TIMEOUT_MS:-1000}
case $timeout_ms in '' | *[!0-9]*) echo "$0: bad MDM_TIMEOUT_MS" >&2; exit 2 ;; esac
seconds=$(awk "BEGIN { printf \"%.3f\", $timeout_ms / 1000 }")
case $MDM_BASE_URL in https://*) ;; *) echo "$0: MDM_BASE_URL must be https" >&2; exit 2 ;; esac

work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 143' INT TERM
mkdir "$work/no-ca-directory"

# The operation, checked and normalised by the helper: one field a line.
helper args "$@" >"$work/args" || exit 2
{ read -r operation; read -r identifier; read -r criterion; read -r value; read -r action; } <"$work/args"

run_operation() {
    url="${MDM_BASE_URL%/}/ciscoise/mdminfo/?ise_api_version=3"
    fetch GET "$url"
    check "GET $url"
    if ! facts=$(helper mdminfo "$MDM_BASE_URL" "$work/mdminfo.json" <"$work/body"); then
        cat "$work/mdminfo.json" && echo && exit 0
    fi
    if [ "$operation" = mdminfo ]; then
        cat "$work/mdminfo.json" && echo && exit 0
    fi
    version=${facts%% *}
    api=${facts#* }

    if [ "$operation" = action ]; then
        url=$(helper action-url "$api" "$action") || exit 2
        helper action-body "$criterion" "$value" >"$work/request.xml" || exit 2
        fetch POST "$url" "$work/request.xml"
        check "POST $url"
        helper action <"$work/body"
        exit 0
    fi

    if [ "$operation" = noncompliant ]; then
        criterion=compliance
        value=false
    fi
    cursor=0
    pages=0
    : >"$work/devices"
    printf '0\n' >"$work/cursors"
    while :; do
        url=$(helper page-url "$api" "$version" "$criterion" "$value" "$cursor") || { printf '%s\n' "$url"; exit 0; }
        fetch GET "$url"
        check "GET $url"
        next=$(helper page "$work/devices" <"$work/body") || { printf '%s\n' "$next"; exit 0; }
        [ -n "$next" ] || break
        if grep -qxF -e "$next" "$work/cursors"; then
            fail protocol_error "paging cursor '$next' came back: the server is looping"
        fi
        printf '%s\n' "$next" >>"$work/cursors"
        cursor=$next
        pages=$((pages + 1))
        [ "$pages" -lt 1000 ] || fail protocol_error "the listing did not end within 1000 pages"
    done
    helper devices "$work/devices"
    exit 0
}
