#!/usr/bin/env bash
# Installs the kernels C library the way C, C++ and Fortran codes expect to find it:
#
#   PREFIX/include/kernels.h            the C header
#   PREFIX/include/kernels.f90          the Fortran module `kernels` (source)
#   PREFIX/include/kernels.mod          ... compiled by $FC (gfortran by default), if found
#   PREFIX/LIBDIR/libkernels.a          static library
#   PREFIX/LIBDIR/libkernels.so.X.Y.Z   shared library, soname libkernels.so.ABI
#   PREFIX/LIBDIR/libkernels.so.ABI -> libkernels.so.X.Y.Z, libkernels.so -> libkernels.so.ABI
#   PREFIX/LIBDIR/pkgconfig/kernels.pc
#   PREFIX/LIBDIR/cmake/kernels/        find_package(kernels CONFIG): kernels::kernels
#   PREFIX/share/kernels/install-manifest.txt   every file installed, for --uninstall
#
# ABI is MAJOR.MINOR while MAJOR is 0 (a 0.x minor release may break the ABI, as in
# semver and cargo-c's convention) and MAJOR from 1.0 on.
#
# Usage:
#   scripts/install.sh [--prefix DIR] [--libdir NAME] [--destdir DIR] [--features LIST]
#   scripts/install.sh --uninstall [--prefix DIR] [--destdir DIR]
# PREFIX, LIBDIR, DESTDIR, FEATURES and FC may also come from the environment (as with
# `make install`); the defaults are /usr/local, lib, none, none (the ffi's default
# features; `--features cuda` adds the kn_cuda_* backends) and gfortran.
# FC=none skips kernels.mod. PREFIX and DESTDIR must be absolute paths.
#
# Nothing is half-installed: everything is built and staged first, then copied next to
# its destination under a temporary name, and only when every copy has succeeded is each
# renamed into place. Any failure removes what this run created and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "install.sh: error: $*" >&2
  exit 1
}

prefix=${PREFIX:-/usr/local}
libdir=${LIBDIR:-lib}
destdir=${DESTDIR:-}
features=${FEATURES:-}
fc=${FC:-}
uninstall=0
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --libdir) libdir=${2:?--libdir needs a name}; shift 2 ;;
    --libdir=*) libdir=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --features) features=${2:?--features needs a list}; shift 2 ;;
    --features=*) features=${1#*=}; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

case $prefix in
  /*) ;;
  *) die "PREFIX must be an absolute path, got '$prefix' (for example --prefix \"\$PWD/$prefix\")" ;;
esac
case $destdir in
  '' | /*) ;;
  *) die "DESTDIR must be empty or an absolute path, got '$destdir'" ;;
esac
case $libdir in
  /* | '' | *..*) die "LIBDIR is a directory name under PREFIX such as lib or lib/x86_64-linux-gnu, got '$libdir'" ;;
esac
# Without its trailing slash: PREFIX=/ becomes "", and every path below is "$root/...".
prefix=${prefix%/}
root="$destdir$prefix"
manifest_rel=share/kernels/install-manifest.txt

if [ $uninstall = 1 ]; then
  manifest="$root/$manifest_rel"
  [ -f "$manifest" ] || die "no kernels installation at '$root' (no $manifest_rel)"
  dirs=()
  while IFS= read -r file; do
    case $file in "$prefix"/*) ;; *) die "manifest line '$file' is not under PREFIX '$prefix'" ;; esac
    rm -f -- "$destdir$file" || die "cannot remove '$destdir$file'"
    dirs+=("$(dirname -- "$destdir$file")")
  done <"$manifest"
  # Remove the directories the installation leaves empty, deepest first, up to PREFIX.
  for dir in $(printf '%s\n' "${dirs[@]}" | sort -u -r); do
    while [ "$dir" != "$root" ] && [ "${dir#"$root"/}" != "$dir" ] && rmdir -- "$dir" 2>/dev/null; do
      dir=$(dirname -- "$dir")
    done
  done
  echo "install.sh: removed kernels from $root"
  exit 0
fi

# Refuse an unwritable destination before building anything: the nearest existing
# ancestor must be a directory this user can create entries in (probed, not guessed
# from permission bits: root may still face a read-only or special file system).
ancestor=${root:-/}
while [ ! -e "$ancestor" ]; do ancestor=$(dirname -- "$ancestor"); done
[ -d "$ancestor" ] || die "cannot install into '$root': '$ancestor' is not a directory"
probe=$(mktemp -d "$ancestor/.kernels-install-probe.XXXXXX" 2>/dev/null) ||
  die "cannot install into '$root': '$ancestor' is not writable by $(id -un)"
rmdir -- "$probe"

[ "$(uname -s)" = Linux ] || die "only Linux installs are supported so far (shared library naming is ELF's)"

# The version from the header the library is built from (kn_version() reports the same).
version_part() { sed -n "s/^#define KN_VERSION_$1 \([0-9]*\)$/\1/p" include/kernels.h; }
major=$(version_part MAJOR)
minor=$(version_part MINOR)
patch=$(version_part PATCH)
[ -n "$major" ] && [ -n "$minor" ] && [ -n "$patch" ] || die "cannot read KN_VERSION_* from include/kernels.h"
version=$major.$minor.$patch
if [ "$major" = 0 ]; then abi=$major.$minor; else abi=$major; fi
soname=libkernels.so.$abi
realname=libkernels.so.$version

# Build the static and the shared library in one go, the shared one with its soname.
# `cargo rustc` passes the flags to kernels-ffi alone; the dependencies are shared with
# every other release build. --print native-static-libs reports what libkernels.a needs.
feature_args=()
[ -z "$features" ] || feature_args=(--features "$features")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "install.sh: building libkernels $version (release${features:+, features $features})"
if ! cargo rustc --locked --release -p kernels-ffi --lib "${feature_args[@]}" -- \
  -C link-arg=-Wl,-soname,"$soname" --print native-static-libs 2>&1 | tee "$log" >&2; then
  die "the build failed (see above); nothing was installed"
fi
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
built="$target_dir/release"
for f in libkernels.a libkernels.so; do
  [ -f "$built/$f" ] || die "the build did not produce $built/$f"
done
soname_built=$(LC_ALL=C readelf -d "$built/libkernels.so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$soname_built" = "$soname" ] || die "libkernels.so has soname '$soname_built', expected '$soname'"

# What a static link needs besides libkernels.a, as rustc reports it, less what every C
# compiler driver adds by itself (-lc; -lgcc_s, which also has no static form: a
# `-static` link gets the unwinder from libgcc_eh).
native=$(sed -n 's/.*native-static-libs: //p' "$log" | tail -n 1)
[ -n "$native" ] || native="-lpthread -ldl -lm"
static_libs=()
for flag in $native; do
  case $flag in
    -lc | -lgcc_s) ;;
    *) case " ${static_libs[*]-} " in *" $flag "*) ;; *) static_libs+=("$flag") ;; esac ;;
  esac
done
libs_private=${static_libs[*]-}
cmake_libs=$(printf '%s\n' "${static_libs[@]-}" | sed -n 's/^-l//p' | paste -sd ';' -)

stage=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$stage"' EXIT
inc="$stage/include"
lib="$stage/$libdir"
mkdir -p "$inc" "$lib/pkgconfig" "$lib/cmake/kernels" "$stage/share/kernels"
cp include/kernels.h include/kernels.f90 "$inc/"
cp "$built/libkernels.a" "$lib/libkernels.a"
cp "$built/libkernels.so" "$lib/$realname"
chmod 644 "$inc"/* "$lib/libkernels.a"
chmod 755 "$lib/$realname"
ln -s "$realname" "$lib/$soname"
ln -s "$soname" "$lib/libkernels.so"

# kernels.mod for the Fortran compiler at hand (module files are compiler-specific; the
# source lets another compiler build its own). The module has interfaces, types and
# constants only, so no object file needs linking.
fc_explicit=1
[ -n "$fc" ] || { fc=gfortran; fc_explicit=0; }
if [ "$fc" = none ]; then
  echo "install.sh: FC=none: kernels.mod not built (include/kernels.f90 is installed)"
elif command -v "$fc" >/dev/null 2>&1; then
  (cd "$stage" && "$fc" -c include/kernels.f90 -J include -o kernels.o && rm -f kernels.o) ||
    die "$fc failed to compile include/kernels.f90; nothing was installed"
elif [ $fc_explicit = 1 ]; then
  die "FC=$fc not found; nothing was installed"
else
  echo "install.sh: no gfortran: kernels.mod not built (include/kernels.f90 is installed)"
fi

cat >"$lib/pkgconfig/kernels.pc" <<EOF
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/$libdir
includedir=\${prefix}/include

Name: kernels
Description: Allocation-free numerical kernels on caller-owned memory (C ABI)
Version: $version
Libs: -L\${libdir} -lkernels
Libs.private: $libs_private
Cflags: -I\${includedir}
EOF

# The CMake package finds its files relative to itself, so it also works from a DESTDIR
# staging tree or a moved prefix.
up=$(printf '%s\n' "$libdir/cmake/kernels" | tr '/' '\n' | grep -c .)
cat >"$lib/cmake/kernels/kernelsConfig.cmake" <<EOF
# CMake package of the kernels library: find_package(kernels CONFIG) defines
#   kernels::kernels_shared  $realname (soname $soname)
#   kernels::kernels_static  libkernels.a and the system libraries it needs
#   kernels::kernels         the shared library, or the static one when KERNELS_STATIC
#                            is ON (set it before find_package)
# The include directory holds kernels.h and, for Fortran targets, kernels.mod.
get_filename_component(_kernels_prefix "\${CMAKE_CURRENT_LIST_DIR}/$(printf '../%.0s' $(seq "$up"))" ABSOLUTE)
if(NOT TARGET kernels::kernels)
  add_library(kernels::kernels_shared SHARED IMPORTED)
  set_target_properties(kernels::kernels_shared PROPERTIES
    IMPORTED_LOCATION "\${_kernels_prefix}/$libdir/$realname"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "\${_kernels_prefix}/include")
  add_library(kernels::kernels_static STATIC IMPORTED)
  set_target_properties(kernels::kernels_static PROPERTIES
    IMPORTED_LOCATION "\${_kernels_prefix}/$libdir/libkernels.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_kernels_prefix}/include"
    INTERFACE_LINK_LIBRARIES "$cmake_libs")
  add_library(kernels::kernels INTERFACE IMPORTED)
  if(KERNELS_STATIC)
    set_target_properties(kernels::kernels PROPERTIES INTERFACE_LINK_LIBRARIES kernels::kernels_static)
  else()
    set_target_properties(kernels::kernels PROPERTIES INTERFACE_LINK_LIBRARIES kernels::kernels_shared)
  endif()
endif()
set(kernels_INCLUDE_DIR "\${_kernels_prefix}/include")
unset(_kernels_prefix)
EOF
cat >"$lib/cmake/kernels/kernelsConfigVersion.cmake" <<EOF
# kernels $version: a request is met by the same MAJOR (and, while MAJOR is 0, the same
# MINOR) at the requested version or later, on a 64-bit target.
set(PACKAGE_VERSION "$version")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(NOT PACKAGE_FIND_VERSION OR PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
elseif(PACKAGE_FIND_VERSION VERSION_LESS PACKAGE_VERSION
    AND PACKAGE_FIND_VERSION_MAJOR EQUAL $major
    AND ($major GREATER 0 OR PACKAGE_FIND_VERSION_MINOR EQUAL $minor))
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
if(CMAKE_SIZEOF_VOID_P AND NOT CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(PACKAGE_VERSION "$version (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
EOF

# The manifest lists every installed path (without DESTDIR), itself included.
listing=$( (cd "$stage" && find . \( -type f -o -type l \) | sed "s|^\./|$prefix/|"))
printf '%s\n%s\n' "$listing" "$prefix/$manifest_rel" | sort >"$stage/$manifest_rel"

# Copy every file next to its destination under a temporary name, then rename all into
# place. A failed copy removes the temporary files and the directories this run made.
created_dirs=()
temps=()
rollback() {
  local i
  for i in "${temps[@]-}"; do [ -z "$i" ] || rm -f -- "$i"; done
  for ((i = ${#created_dirs[@]} - 1; i >= 0; i--)); do rmdir -- "${created_dirs[i]}" 2>/dev/null || true; done
}
make_dir() {
  local dir=$1 missing=()
  while [ ! -d "$dir" ]; do missing=("$dir" "${missing[@]}"); dir=$(dirname -- "$dir"); done
  for dir in "${missing[@]}"; do
    mkdir -- "$dir" 2>/dev/null || return 1
    created_dirs+=("$dir")
  done
}
fail_install() {
  rollback
  die "$1; nothing was installed"
}
entries=$(cd "$stage" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
for rel in $entries; do
  dest="$root/$rel"
  make_dir "$(dirname -- "$dest")" || fail_install "cannot create directory '$(dirname -- "$dest")'"
  tmp="$dest.kn-new.$$"
  temps+=("$tmp")
  if [ -L "$stage/$rel" ]; then
    ln -s "$(readlink "$stage/$rel")" "$tmp" 2>/dev/null || fail_install "cannot write '$tmp'"
  else
    cp -p "$stage/$rel" "$tmp" 2>/dev/null || fail_install "cannot write '$tmp'"
  fi
done
for rel in $entries; do
  mv -f -T -- "$root/$rel.kn-new.$$" "$root/$rel" || fail_install "cannot rename into '$root/$rel'"
done
echo "install.sh: installed kernels $version into $root ($(wc -l <"$stage/$manifest_rel") files, listed in $prefix/$manifest_rel)"
