#!/bin/sh
# Install fpentropy into a temporary prefix, move it (relocatable), then build and run two
# out-of-tree users of it: a CMake project (find_package) and a pkg-config compile line.
# Each consumer is examples/rotating_ou.c; check_example.py compares its numbers with the
# installed `fpentropy run` on the same case (1e-12 relative).
# SPDX-License-Identifier: GPL-3.0-or-later
# Usage: check_install.sh BUILD_DIR SOURCE_DIR WORK_DIR VERSION PYTHON
set -eu
build=$1 src=$2 work=$3 version=$4 python=$5
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/stage" >"$work/install.log"
# relocatable: the tree works from wherever it is moved to
mv "$work/stage" "$work/prefix"
prefix=$work/prefix
libdir=$(cd "$prefix" && ls -d lib*/pkgconfig | head -n1 | xargs dirname)
for f in bin/fpentropy include/fpentropy/fpentropy.h include/fpentropy/version.h \
         include/fpentropy/export.h "$libdir/libfpentropy.a" "$libdir/pkgconfig/fpentropy.pc" \
         "$libdir/cmake/fpentropy/fpentropyConfig.cmake" \
         "$libdir/cmake/fpentropy/fpentropyConfigVersion.cmake" \
         share/fpentropy/cases/ou2d_rotating.ini share/doc/fpentropy/cli.md \
         bin/fpentropy-plot share/fpentropy/python/fpentropy/plot.py share/man/man1/fpentropy.1 \
         share/man/man5/fpentropy-case.5 share/bash-completion/completions/fpentropy; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f is not installed"; exit 1; }
done
soname=$(objdump -p "$prefix/$libdir/libfpentropy.so" | awk '/SONAME/ {print $2}')
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
if [ "$major" = 0 ]; then want=libfpentropy.so.0.$minor; else want=libfpentropy.so.$major; fi
[ "$soname" = "$want" ] || { echo "FAIL: SONAME $soname, expected $want"; exit 1; }
[ -e "$prefix/$libdir/$soname" ] || { echo "FAIL: no $soname link"; exit 1; }
echo "installed: SONAME $soname"

# 1. find_package
cmake -S "$src/tests/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
      -DFP_EXAMPLE="$src/examples/rotating_ou.c" -DFPENTROPY_EXPECTED_VERSION="$version" \
      -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log"
cmake --build "$work/cmake" >>"$work/cmake.log"
"$work/cmake/version_check" || { echo "FAIL: <fpentropy/version.h> disagrees with fp_version()"; exit 1; }
case=$prefix/share/fpentropy/cases/ou2d_rotating.ini
"$python" "$src/tests/integration/check_example.py" "$work/cmake/consumer_shared" \
          "$prefix/bin/fpentropy" "$case" 24 "$work/run_shared"
"$python" "$src/tests/integration/check_example.py" "$work/cmake/consumer_static" \
          "$prefix/bin/fpentropy" "$case" 24 "$work/run_static"
if objdump -p "$work/cmake/consumer_static" | grep -q 'NEEDED.*libfpentropy'; then
  echo "FAIL: consumer_static needs libfpentropy.so"; exit 1
fi

# 2. pkg-config, one compile line
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
[ "$(pkg-config --modversion fpentropy)" = "$version" ] || { echo "FAIL: pkg-config version"; exit 1; }
cc -std=c17 -o "$work/pc_consumer" "$src/examples/rotating_ou.c" \
   $(pkg-config --cflags --libs fpentropy) -lm -Wl,-rpath,"$prefix/$libdir"
"$python" "$src/tests/integration/check_example.py" "$work/pc_consumer" \
          "$prefix/bin/fpentropy" "$case" 24 "$work/run_pc"
# and statically, with Requires.private/Libs.private.  Debian's libmatheval.pc lists -ll
# (flex's library, which libmatheval.so does not need and few systems have): dropped.
static_libs=$(pkg-config --static --libs-only-l fpentropy | tr ' ' '\n' | grep -v -x -e -lfpentropy -e -ll | tr '\n' ' ')
cc -std=c17 -o "$work/pc_static" "$src/examples/rotating_ou.c" \
   $(pkg-config --cflags fpentropy) "$prefix/$libdir/libfpentropy.a" \
   $(pkg-config --static --libs-only-other --libs-only-L fpentropy) $static_libs -lm
"$python" "$src/tests/integration/check_example.py" "$work/pc_static" \
          "$prefix/bin/fpentropy" "$case" 24 "$work/run_pc_static"
# the installed plot tool finds the installed Python package (not the source tree's)
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  (cd "$work" && env -u PYTHONPATH "$prefix/bin/fpentropy-plot" "$work/run_pc" -o "$work/figs" >"$work/plot.log")
  [ -s "$work/figs/balance.png" ] || { echo "FAIL: the installed fpentropy-plot made no balance.png"; exit 1; }
fi
echo "PASS: installed into a moved prefix; find_package (shared, static) and pkg-config (shared, static) consumers agree with the installed fpentropy run"
