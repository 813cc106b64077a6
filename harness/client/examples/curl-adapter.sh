#!/bin/sh
# curl-adapter.sh - an example mdm-harness adapter in POSIX shell + curl.
#
# It implements the adapter protocol in full (environment in, one JSON object out, error
# categories from curl's exit codes and HTTP statuses) and the ISE MDM API only in part: the
# `mdminfo` operation (discovery, with one fallback to version 2 after a 401, as ISE does).
# The other operations exit 2, which the harness judges a crash: this is a teaching example,
# not a client. Its XML "parsing" is sed over known elements; see docs/clients.md for what it
# does not handle (CDATA, character references, namespace prefixes).
#
# Environment (the adapter protocol): MDM_BASE_URL, MDM_USERNAME, MDM_PASSWORD, MDM_PROXY
# (empty: no proxy), MDM_CA_BUNDLE (the only CA trusted), MDM_TIMEOUT_MS (per request).
#
#   MDM_BASE_URL=https://acme.jamfcloud.test/networkIntegrationEndpoint/7 ... curl-adapter.sh mdminfo

set -u
LC_ALL=C
export LC_ALL

usage() {
    echo "usage: $0 mdminfo   (device, noncompliant and action are not implemented)" >&2
    exit 2
}

# A JSON string literal for $1 (backslash, quote, tab, CR and line breaks escaped).
json_string() {
    printf '%s' "$1" | awk 'BEGIN { ORS = ""; printf "\"" }
        { if (NR > 1) printf "\\n"; gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t");
          gsub(/\r/, "\\r"); print }
        END { printf "\"" }'
}

json_or_null() {
    if [ -n "$1" ]; then json_string "$1"; else printf 'null'; fi
}

# Report an error outcome and stop (exit 0: an error is a proper answer, not a crash).
fail() {
    printf '{"outcome": "error", "error": "%s", "message": %s}\n' "$1" "$(json_string "$2")"
    exit 0
}

# A value for curl's config syntax: inside double quotes, backslash and quote escaped.
config_quote() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

# The trimmed text of the first <$1> element in the flattened body, entities decoded.
element() {
    printf '%s' "$body" |
        sed -n "s:.*<$1>[[:space:]]*\([^<]*\)</$1>.*:\1:p" |
        sed -e 's/[[:space:]]*$//' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' \
            -e "s/&apos;/'/g" -e 's/&amp;/\&/g'
}

[ $# -ge 1 ] || usage
operation=$1
shift
case $operation in
    mdminfo) [ $# -eq 0 ] || usage ;;
    device | noncompliant | action)
        echo "curl-adapter: '$operation' is not implemented by this example" >&2
        exit 2 ;;
    *) usage ;;
esac

for name in MDM_BASE_URL MDM_USERNAME MDM_PASSWORD MDM_CA_BUNDLE; do
    eval "value=\${$name-}"
    if [ -z "$value" ] && [ "$name" != MDM_PASSWORD ]; then
        echo "curl-adapter: $name is not set" >&2
        exit 2
    fi
done
timeout_ms=${MDM_TIMEOUT_MS:-1000}
case $timeout_ms in '' | *[!0-9]*) echo "curl-adapter: bad MDM_TIMEOUT_MS" >&2; exit 2 ;; esac
seconds=$(awk "BEGIN { printf \"%.3f\", $timeout_ms / 1000 }")

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/no-capath"

# -q first: ignore ~/.curlrc. Only https, no redirects (credentials stay with the MDM).
# --cacert plus an empty --capath: trust MDM_CA_BUNDLE and nothing else (curl would otherwise
# add the system CA directory). The credentials travel in a config read from stdin, so they
# never appear on a command line that `ps` shows.
set -- -q --silent --show-error --proto =https --max-redirs 0 \
    --cacert "$MDM_CA_BUNDLE" --capath "$work/no-capath" \
    --connect-timeout "$seconds" --max-time "$seconds" \
    --header "Accept: application/xml" --output "$work/body" --write-out "%{http_code}" \
    --config -
if [ -n "${MDM_PROXY:-}" ]; then
    set -- "$@" --proxy "$MDM_PROXY"
else
    set -- "$@" --noproxy "*"
fi

base=${MDM_BASE_URL%/}
for version in 3 2; do
    url="$base/ciscoise/mdminfo/?ise_api_version=$version"
    status=$(printf 'user = "%s:%s"\nurl = "%s"\n' "$(config_quote "$MDM_USERNAME")" \
        "$(config_quote "$MDM_PASSWORD")" "$(config_quote "$url")" | curl "$@" 2>"$work/err")
    rc=$?
    detail="GET $url: $(tr -d '\n' <"$work/err")"
    case $rc in
        0) ;;
        28) fail timeout "$detail" ;;
        35 | 51 | 53 | 54 | 58 | 59 | 60 | 64 | 66 | 77 | 80 | 82 | 83 | 90 | 91) fail tls_error "$detail" ;;
        1 | 3 | 47) fail protocol_error "$detail" ;;
        *) fail connection_error "$detail (curl exit code $rc)" ;;
    esac
    echo "curl-adapter: GET $url -> HTTP $status" >&2
    case $status in
        2??) break ;;
        401) [ "$version" = 3 ] && continue
             fail unauthorized "GET $url: HTTP 401" ;;
        403) fail unauthorized "GET $url: HTTP 403" ;;
        404) fail not_found "GET $url: HTTP 404" ;;
        429 | 5??) fail server_error "GET $url: HTTP $status" ;;
        *) fail protocol_error "GET $url: unexpected HTTP $status" ;;
    esac
done

body=$(tr -d '\r\n' <"$work/body")
case $body in *'<!DOCTYPE'* | *'<!doctype'*) fail parse_error "a DOCTYPE is not allowed" ;; esac
case $body in *'<ise_api'*'</ise_api>'*) ;; *) fail parse_error "not an <ise_api> document" ;; esac
[ "$(element name)" = mdminfo ] || fail parse_error "ise_api/name is not mdminfo"

api_version=$(element api_version)
case $api_version in '' | *[!0-9]*) fail parse_error "api_version '$api_version' is not an integer" ;; esac
[ "$api_version" -ge 1 ] || fail parse_error "api_version $api_version is less than 1"
[ "$api_version" -le "$version" ] ||
    fail protocol_error "the server answered api_version $api_version to a request for $version"
api_path=$(element api_path)
[ -n "$api_path" ] || fail parse_error "api_path is missing"
query_max_size=$(element query_max_size)
case $query_max_size in
    '') query_max_size=5000 ;;
    *[!0-9]* | 0) fail parse_error "query_max_size '$query_max_size' is not a positive integer" ;;
esac
messaging=$(element messaging_support)
case $messaging in
    true | false) ;;
    '') messaging=null ;;
    *) fail parse_error "messaging_support '$messaging' is not true or false" ;;
esac
vendor=$(element vendor)
product_name=$(element product_name)
product_version=$(element product_version)
if [ "$api_version" -ge 3 ] && { [ -z "$vendor" ] || [ -z "$product_name" ] || [ -z "$product_version" ]; }; then
    fail protocol_error "a version 3 answer must name vendor, product_name and product_version"
fi

printf '{"outcome": "ok", "result": {"api_version": %s, "api_path": %s, "redirect_url": %s, ' \
    "$api_version" "$(json_string "$api_path")" "$(json_or_null "$(element redirect_url)")"
printf '"vendor": %s, "product_name": %s, "product_version": %s, ' \
    "$(json_or_null "$vendor")" "$(json_or_null "$product_name")" "$(json_or_null "$product_version")"
printf '"query_max_size": %s, "messaging_support": %s}}\n' "$((query_max_size + 0))" "$messaging"
