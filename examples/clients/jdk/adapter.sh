#!/bin/sh
# Run the JDK adapter (MdmClient.java beside this file), compiling it first with javac into a
# cache directory of this user under TMPDIR, named by the source's checksum: class files are
# built at run time and never committed. Needs java and javac (JDK 17) on PATH.
set -u
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd) || exit 2
source=$here/MdmClient.java
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    echo "jdk-adapter: java and javac must be on PATH" >&2
    exit 2
fi
sum=$(cksum <"$source" | cut -d ' ' -f 1)
classes=${TMPDIR:-/tmp}/mdm-harness-jdk-$(id -u)-$sum
if [ ! -f "$classes/MdmClient.class" ]; then
    build=$(mktemp -d "${TMPDIR:-/tmp}/mdm-harness-jdk-build.XXXXXX") || exit 2
    javac -d "$build" "$source" >&2 || { rm -rf "$build"; exit 2; }
    # Another run may have won the race: then keep its directory and drop ours.
    mv -T "$build" "$classes" 2>/dev/null || rm -rf "$build"
fi
# Only a directory this user owns (TMPDIR may be shared): never run classes planted by another.
[ -O "$classes" ] || { echo "jdk-adapter: $classes is not ours" >&2; exit 2; }
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$classes" MdmClient "$@"
