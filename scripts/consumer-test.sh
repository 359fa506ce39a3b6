#!/usr/bin/env bash
# The library as its users get it: installs it with scripts/install.sh into a temporary
# prefix, then builds and runs the programs under tests/consumer against that prefix
# alone: C through pkg-config (shared, and --static), C++ through CMake's
# find_package(kernels CONFIG) (the shared and the static target) and Fortran through
# the module `kernels`. Then a DESTDIR install, the uninstall, the install's refusals
# (a relative or unwritable PREFIX, a failure half-way) that must leave nothing behind,
# and `cargo package` of the published crates.
#
# The commands are README.md's: every fenced block that follows a line
# `<!-- consumer-test: NAME -->` is run as it stands (with PREFIX set; `install` and
# `uninstall` from the repository root, the others in a copy of tests/consumer). The
# checks around them (which library each program loads, what is left on disk) are this
# script's.
#
# Needs cc, c++, pkg-config, cmake and gfortran: a missing one says SKIPPED, or fails
# with KN_REQUIRE_CONSUMER=1 (CI installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

for tool in cc c++ pkg-config cmake gfortran readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [ "${KN_REQUIRE_CONSUMER:-0}" = 1 ]; then
      echo "$tool not found, and KN_REQUIRE_CONSUMER=1 (apt-get install pkg-config cmake gfortran)"
      exit 1
    fi
    echo "SKIPPED: install and consumer tests: $tool not found (apt-get install pkg-config cmake gfortran)"
    exit 0
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PREFIX="$tmp/prefix"
checks=0
ok() {
  checks=$((checks + 1))
  echo "ok: $*"
}
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# The block of README.md marked `consumer-test: NAME`, run by `bash -eu -o pipefail`
# (every command must succeed) in directory DIR.
readme_block() {
  local name=$1 dir=$2 text
  text=$(awk -v marker="<!-- consumer-test: $name -->" '
    $0 == marker { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' README.md)
  [ -n "$text" ] || fail "README.md has no block marked 'consumer-test: $name'"
  echo "--- README block '$name' (in ${dir/#$tmp/\$TMP}):"
  printf '%s\n' "$text" | sed 's/^/    /'
  (cd "$dir" && bash -euo pipefail -c "$text") || fail "README block '$name'"
  ok "README block '$name'"
}

needed() { LC_ALL=C readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
loads_shared_kernels() {
  needed "$1" | grep -qx "$soname" || fail "$1 does not load $soname (NEEDED: $(needed "$1" | paste -sd ' ' -))"
  ok "$(basename "$1") loads $soname"
}
links_static_kernels() {
  if needed "$1" | grep -q '^libkernels'; then fail "$1 loads libkernels dynamically"; fi
  ok "$(basename "$1") has libkernels linked in statically"
}
# Every path under $1, for comparing what a refused install left behind.
listing() { (cd "$1" && find . | sort); }

major=$(sed -n 's/^#define KN_VERSION_MAJOR \([0-9]*\)$/\1/p' include/kernels.h)
minor=$(sed -n 's/^#define KN_VERSION_MINOR \([0-9]*\)$/\1/p' include/kernels.h)
patch=$(sed -n 's/^#define KN_VERSION_PATCH \([0-9]*\)$/\1/p' include/kernels.h)
if [ "$major" = 0 ]; then soname=libkernels.so.$major.$minor; else soname=libkernels.so.$major; fi

# --- Bad input: refused with a clear message, nothing created.
refused() {
  local expect=$1
  shift
  local out
  if out=$("$@" 2>&1); then fail "install accepted: $*"; fi
  printf '%s\n' "$out" | grep -q "$expect" || fail "install refused '$*' without saying '$expect': $out"
  ok "refused ($(printf '%s\n' "$out" | grep -m1 'error:'))"
}
mkdir "$tmp/cwd"
(cd "$tmp/cwd" && refused "must be an absolute path" "$repo/scripts/install.sh" --prefix relative/prefix)
[ -z "$(ls -A "$tmp/cwd")" ] || fail "a refused relative PREFIX left files behind"
refused "must be empty or an absolute path" scripts/install.sh --prefix "$PREFIX" --destdir stage
touch "$tmp/a-file"
refused "is not a directory" scripts/install.sh --prefix "$tmp/a-file/prefix"
if [ "$(id -u)" = 0 ]; then
  # root writes through permission bits; /proc accepts no new directories from anyone.
  refused "is not writable" scripts/install.sh --prefix /proc/kernels-install-test
else
  mkdir "$tmp/read-only" && chmod 555 "$tmp/read-only"
  refused "is not writable" scripts/install.sh --prefix "$tmp/read-only/prefix"
fi
# A failure half-way (lib/pkgconfig cannot be created: a file has its name) rolls back.
mkdir -p "$tmp/half/lib" && touch "$tmp/half/lib/pkgconfig" "$tmp/half/keep"
before=$(listing "$tmp/half")
refused "nothing was installed" scripts/install.sh --prefix "$tmp/half"
[ "$(listing "$tmp/half")" = "$before" ] || fail "a failed install left files: $(diff <(echo "$before") <(listing "$tmp/half"))"
ok "the failed install left the prefix as it was"

# --- Install, as README "Install" says.
readme_block install "$repo"
while IFS= read -r file; do
  [ -e "$file" ] || [ -L "$file" ] || fail "the manifest lists $file, which is missing"
done <"$PREFIX/share/kernels/install-manifest.txt"
real=$(readlink -f "$PREFIX/lib/libkernels.so")
[ "$(basename "$real")" = "libkernels.so.$major.$minor.$patch" ] || fail "libkernels.so resolves to $real"
[ "$(readlink "$PREFIX/lib/libkernels.so")" = "$soname" ] || fail "libkernels.so does not point to $soname"
LC_ALL=C readelf -d "$real" | grep -q "Library soname: \[$soname\]" || fail "$real lacks the soname $soname"
ok "libkernels.so -> $soname -> $(basename "$real"), soname $soname; manifest complete"
[ "$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --modversion kernels)" = "$major.$minor.$patch" ] ||
  fail "pkg-config --modversion kernels"
ok "pkg-config finds kernels $major.$minor.$patch"

# --- Use from C, C++ and Fortran, against the installed prefix only.
work="$tmp/consumer"
cp -r tests/consumer "$work"
readme_block c "$work"
loads_shared_kernels "$work/use_kernels"
links_static_kernels "$work/use_kernels_static"
readme_block cpp "$work"
loads_shared_kernels "$work/build-cpp/use_kernels_cpp"
links_static_kernels "$work/build-cpp/use_kernels_cpp_static"
readme_block fortran "$work"
loads_shared_kernels "$work/use_kernels_f"

# --- A staged install (DESTDIR): files under DESTDIR, paths inside them for PREFIX; the
# CMake package finds its files relative to itself, so it works from the staging tree.
# Configured with KERNELS_STATIC=ON, kernels::kernels is the static library.
DESTDIR="$tmp/stage" scripts/install.sh --prefix /opt/kernels >/dev/null 2>&1 || fail "DESTDIR install"
grep -qx 'prefix=/opt/kernels' "$tmp/stage/opt/kernels/lib/pkgconfig/kernels.pc" || fail "kernels.pc under DESTDIR"
grep -qx '/opt/kernels/lib/libkernels.a' "$tmp/stage/opt/kernels/share/kernels/install-manifest.txt" ||
  fail "the DESTDIR manifest does not name PREFIX paths"
cmake -S "$work/cpp" -B "$tmp/build-stage" -DCMAKE_PREFIX_PATH="$tmp/stage/opt/kernels" \
  -DKERNELS_STATIC=ON >/dev/null && cmake --build "$tmp/build-stage" >/dev/null &&
  "$tmp/build-stage/use_kernels_cpp" >/dev/null || fail "the CMake package from the DESTDIR tree"
ok "DESTDIR install: PREFIX paths in kernels.pc and the manifest, CMake package relocatable"
links_static_kernels "$tmp/build-stage/use_kernels_cpp"

# --- Uninstall, as README says: the prefix is left empty.
readme_block uninstall "$repo"
[ ! -d "$PREFIX" ] || [ -z "$(find "$PREFIX" -mindepth 1)" ] || fail "uninstall left: $(find "$PREFIX" -mindepth 1)"
ok "uninstall removed every file and directory it had made"

# --- Rust users: the crates package (publishable metadata, a README each, every file
# their build needs) and build from their packaged sources.
# Cargo verifies each crate against its packaged siblings through a temporary local
# registry, and unpacks them under $CARGO_HOME/registry/src/-<hash of that registry's
# path>/. It never unpacks a crate again whose directory is there (marked .cargo-ok), so
# a CARGO_HOME kept from a run of an older commit at the same path would build this
# commit's crates against the older siblings' sources. Our crates' unpacked copies from
# local registries (the directories named -<hash>) go first; crates.io's are untouched.
crates=(kernels-core kernels-simd kernels-cuda kernels-ffi kernels-testing)
for crate in "${crates[@]}"; do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$crate"-[0-9]*
done
# A target directory of its own, fresh: cargo takes a registry crate's build as
# current whatever its sources (a version is immutable), so a target directory that
# verified an older commit's crates would reuse their builds.
CARGO_TARGET_DIR="$tmp/package-target" \
  cargo package --locked --allow-dirty $(printf -- '-p %s ' "${crates[@]}") >"$tmp/package.log" 2>&1 ||
  { tail -n 30 "$tmp/package.log"; fail "cargo package"; }
ok "cargo package: ${crates[*]} package and build from their packaged sources"

echo "consumer-test: $checks passed, 0 failed"
