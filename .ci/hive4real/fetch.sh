#!/usr/bin/env bash
# Fetches a real Apache Hive 4 for the tests from Maven (pom.xml beside this file) and prints
# the folder that holds it:
#   <folder>/lib/*.jar                          HiveServer2's classpath (copy-dependencies)
#   <folder>/scripts/metastore/upgrade/derby/   the metastore's schema scripts (from the
#                                               hive-standalone-metastore-server bin tarball)
#   <folder>/metastore_db/                      an empty Derby metastore initialised by
#                                               MetastoreSchemaTool, copied on every start
# Cached by the hash of pom.xml and of this file: a second run costs nothing.
#
#   bash .ci/hive4real/fetch.sh    # prints /path/to/hive4real-<hash>
#
# Environment: PUBLISHER_HIVE4_REAL_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/publisher-hive4real).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${PUBLISHER_HIVE4_REAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/publisher-hive4real}"
HIVE_VERSION="$(sed -n 's|.*<hive.version>\(.*\)</hive.version>.*|\1|p' "$HERE/pom.xml")"
hash="$(cat "$HERE/pom.xml" "$HERE/fetch.sh" "$HERE/java-options" | sha256sum | cut -c1-16)"
out="$CACHE/hive4real-$hash"
if [[ ! -f "$out/ready" ]]; then
  command -v mvn >/dev/null || { echo "hive4real fetch: mvn not found (apt-get install maven)" >&2; exit 1; }
  mkdir -p "$CACHE"
  work="$(mktemp -d "$CACHE/fetch.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  t0=$SECONDS
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$work/lib" >&2
  mvn -q -B dependency:copy -Dartifact="org.apache.hive:hive-standalone-metastore-server:$HIVE_VERSION:tar.gz:bin" \
    -DoutputDirectory="$work" >&2
  tar xzf "$work"/hive-standalone-metastore-server-*-bin.tar.gz -C "$work" --strip-components=1 \
    --wildcards '*/scripts/metastore/upgrade/derby/*'
  rm "$work"/hive-standalone-metastore-server-*-bin.tar.gz
  echo "hive4real fetch: jars and schema scripts in $((SECONDS - t0))s" >&2
  # An empty metastore, initialised once: schematool costs ~8 s of a start otherwise.
  mkdir -p "$work/conf"
  cat >"$work/conf/metastore-site.xml" <<XML
<configuration>
  <property><name>javax.jdo.option.ConnectionURL</name><value>jdbc:derby:;databaseName=$work/metastore_db;create=true</value></property>
  <property><name>javax.jdo.option.ConnectionDriverName</name><value>org.apache.derby.jdbc.EmbeddedDriver</value></property>
</configuration>
XML
  # shellcheck disable=SC2046
  METASTORE_HOME="$work" java $(cat "$HERE/java-options") -Xmx512m -Dderby.system.home="$work" \
    -cp "$work/conf:$work/lib/*" org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool \
    -initSchema -dbType derby >"$work/schematool.log" 2>&1 \
    || { tail -n 30 "$work/schematool.log" >&2; echo "hive4real fetch: schematool failed" >&2; exit 1; }
  rm -rf "$work/conf" "$work/derby.log"
  echo "hive4real fetch: metastore schema initialised, $((SECONDS - t0))s in all" >&2
  echo "$HIVE_VERSION" >"$work/version"
  touch "$work/ready"
  rm -rf "$out"
  mv "$work" "$out"   # atomic: a concurrent fetch never sees half a folder
  trap - EXIT
fi
echo "$out"
