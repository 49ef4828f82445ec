#!/usr/bin/env bash
# Builds the Hive 4 emulation's metastore listeners (src/) into a jar and prints its path.
# Compiled against the Hive 2.3.10 metastore jars the pyspark wheel ships; cached by the hash
# of the sources and of the pyspark version, so a second run costs no javac (3 s on 2 cores).
#
#   bash .ci/hive4/build.sh     # prints /path/to/publisher-hive4-<hash>.jar
#
# Environment: PUBLISHER_PYTHON (a python with pyspark, default python),
# PUBLISHER_HIVE4_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/publisher-hive4).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PUBLISHER_PYTHON:-python}"
CACHE="${PUBLISHER_HIVE4_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/publisher-hive4}"

spark_home="$("$PY" -c 'import pyspark,os;print(os.path.dirname(pyspark.__file__))')" || {
  echo "hive4 build: cannot import pyspark with '$PY': set PUBLISHER_PYTHON" >&2
  exit 1
}
version="$("$PY" -c 'import pyspark;print(pyspark.__version__)')"
hash="$( (cd "$HERE" && find src -name '*.java' | LC_ALL=C sort | xargs sha256sum; echo "pyspark $version") \
  | sha256sum | cut -c1-16)"
jar="$CACHE/publisher-hive4-$hash.jar"
if [[ ! -s "$jar" ]]; then
  mkdir -p "$CACHE"
  work="$(mktemp -d "$CACHE/build.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  # -Xlint:-path: pyspark's jars name absent jars in their manifests' Class-Path.
  javac --release 17 -Xlint:all,-path -Werror -cp "$spark_home/jars/*" -d "$work/classes" \
    $(find "$HERE/src" -name '*.java' | LC_ALL=C sort)
  jar cf "$work/out.jar" -C "$work/classes" .
  mv "$work/out.jar" "$jar"   # atomic: a concurrent build never sees half a jar
fi
echo "$jar"
