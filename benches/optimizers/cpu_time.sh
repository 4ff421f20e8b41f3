#!/usr/bin/env bash
# Runs the rdspy CLI ($RDSPY_BIN, default target/release/rdspy); for `compile ... --out FILE` it also writes
# the process's user and system CPU seconds to FILE.cpu (GNU time), which rdspy_row.py reports as
# compile_cpu_seconds. Use as RDSPY=benches/optimizers/cpu_time.sh for run.sh.
set -euo pipefail
BIN=${RDSPY_BIN:-target/release/rdspy}
out=; prev=
for a in "$@"; do
  [ "$prev" = --out ] && out=$a
  prev=$a
done
if [ "${1:-}" = compile ] && [ -n "$out" ]; then
  exec /usr/bin/time -f '{"user": %U, "sys": %S}' -o "$out.cpu" "$BIN" "$@"
fi
exec "$BIN" "$@"
