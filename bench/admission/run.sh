#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Admission quality: replays the steady, bursty and heavy-tailed traces against headroom's own
# admission code under every policy (static, predictive, predictive+reservations, oracle) and
# prints one Markdown table. Deterministic: the same seed gives the same table.
#
# It builds the simulator in BUILD first (configuring it when it is not a build directory yet),
# so the numbers always come from the model code in this tree.
#
# Environment:
#   BUILD   the build directory (default: build)
#   SEED    generator seed (default 1)
#   TASKS   tasks per trace (default 1000)
# Arguments are passed to headroom-admission-sim, e.g.:
#   bench/admission/run.sh --diagnostics
#   bench/admission/run.sh --trace-in my-trace.csv
#   bench/admission/run.sh --trace bursty --quantile 0.9
#
# Exit status: that of the simulator (0 when the table was printed), 1 when it could not be built.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

BUILD=${BUILD:-$root/build}
SEED=${SEED:-1}
TASKS=${TASKS:-1000}

die() { echo "admission-bench: $*" >&2; exit 1; }

command -v meson >/dev/null || die "meson is missing"
command -v ninja >/dev/null || die "ninja is missing"

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$root" >/dev/null || die "meson setup $BUILD failed"
fi
ninja -C "$BUILD" bench/admission/headroom-admission-sim >/dev/null ||
    die "building the simulator in $BUILD failed (ninja -C $BUILD bench/admission/headroom-admission-sim)"

sim=$BUILD/bench/admission/headroom-admission-sim
[ -x "$sim" ] || die "no simulator at $sim"

# --trace-in replays a file: the seed and task count do not apply then.
for a in "$@"; do
    if [ "$a" = --trace-in ] || [ "${a#--trace-in=}" != "$a" ]; then
        exec "$sim" "$@"
    fi
done
exec "$sim" --seed "$SEED" --tasks "$TASKS" "$@"
