#!/usr/bin/env bash
# core/ is pure (ARCHITECTURE.md "Rooms"): it never includes SQLite, libwebsockets or socket
# headers, never reads the clock and never draws random numbers. Time and randomness are arguments.
set -u
dir=${1:?usage: lint_core_purity.sh simhub/core}
bad=$(grep -nE '#include *<(sqlite3\.h|libwebsockets\.h|sys/socket\.h|netinet/|arpa/inet\.h|sys/random\.h|mosquitto\.h)|\b(time|clock_gettime|gettimeofday|rand|random|getrandom|RAND_bytes|sqlite3_[a-z_]+|lws_[a-z_]+)\s*\(' "$dir"/*.[ch] || true)
if [ -n "$bad" ]; then
  echo "core/ must stay pure; found:"
  echo "$bad"
  exit 1
fi
# Only crypto.c may include OpenSSL.
ossl=$(grep -ln '#include *<openssl/' "$dir"/*.[ch] | grep -v '/crypto\.c$' || true)
if [ -n "$ossl" ]; then
  echo "only core/crypto.c may include OpenSSL headers; found in: $ossl"
  exit 1
fi
echo "core purity: ok ($(ls "$dir"/*.[ch] | wc -l) files)"
