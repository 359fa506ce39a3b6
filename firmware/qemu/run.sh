#!/usr/bin/env bash
# Builds the firmware demo for a Cortex-M4F, runs it under QEMU (mps2-an386), runs the
# same demo on the host, and compares the printed results. Prints the firmware's size.
#
# Needs: rustup target thumbv7em-none-eabihf; Debian packages gcc-arm-none-eabi,
# libnewlib-arm-none-eabi and qemu-system-arm.
# Usage: firmware/qemu/run.sh            (from anywhere)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
out=target/firmware
mkdir -p "$out"

target=thumbv7em-none-eabihf
# The firmware profile: size-optimised, LTO, panic = abort (see Cargo.toml).
cargo build --locked --profile firmware --target $target -p kernels-ffi \
  --no-default-features --features panic-handler
fwlib=target/$target/firmware/libkernels.a

# Startup code ships with the toolchain's examples; the memory map is ours.
startup=/usr/share/doc/gcc-arm-none-eabi/examples/startup/startup_ARMCM4.S
[ -f "$startup" ] || { echo "missing $startup (apt-get install gcc-arm-none-eabi)"; exit 1; }
cpu=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
# The startup file is the toolchain's, assembled as it is (not held to our warnings).
arm-none-eabi-gcc "${cpu[@]}" -c -D__STACK_SIZE=0x10000 -D__HEAP_SIZE=0x4000 \
  -D__STARTUP_CLEAR_BSS "$startup" -o "$out/startup.o"
families=(SINKHORN SNS H2O LINATTN SOR PAGING CG)
# link NAME FLAGS...: the demo linked with the given -D flags into $out/NAME.axf.
link() {
  local name=$1
  shift
  arm-none-eabi-gcc "${cpu[@]}" -std=c11 -Os -g -Wall -Wextra -Werror \
    -ffunction-sections -fdata-sections -Iinclude "$@" \
    "$out/startup.o" "$here/main.c" "$here/demo.c" "$fwlib" \
    --specs=nano.specs --specs=rdimon.specs -u _printf_float \
    -Wl,--gc-sections -Wl,-z,noexecstack -T "$here/mps2_an386.ld" -lm -o "$out/$name.axf"
}
link demo
arm-none-eabi-size "$out/demo.axf"

# Each family's share of flash and RAM: the demo with only that family, minus the demo
# with none (which still has the C runtime, printf and the status strings).
none=()
for f in "${families[@]}"; do none+=("-DKN_DEMO_$f=0"); done
link none "${none[@]}"
sizes() { arm-none-eabi-size "$out/$1.axf" | awk 'NR == 2 { print $1, $2, $3 }'; }
read -r t0 d0 b0 < <(sizes none)
{
  echo "| family | flash (.text + .data) | RAM (.data + .bss) |"
  echo "| --- | --- | --- |"
  echo "| none (C runtime, printf, status strings) | $((t0 + d0)) B | $((d0 + b0)) B |"
  for f in "${families[@]}"; do
    only=()
    for g in "${families[@]}"; do [ "$g" = "$f" ] || only+=("-DKN_DEMO_$g=0"); done
    link "only-$f" "${only[@]}"
    read -r t d b < <(sizes "only-$f")
    echo "| ${f,,} | +$((t + d - t0 - d0)) B | +$((d + b - d0 - b0)) B |"
  done
} >"$out/sizes.md"
echo "flash and RAM per family (the demo's own buffers included), $out/sizes.md:"
cat "$out/sizes.md"

timeout 120 qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic \
  -semihosting-config enable=on,target=native -kernel "$out/demo.axf" >"$out/firmware.txt"
echo "firmware run: $(wc -l <"$out/firmware.txt") lines"

# The same demo on the host, against the host static library.
cargo build --locked -p kernels-ffi
cc -std=c11 -Wall -Wextra -Werror -Iinclude "$here/host_main.c" "$here/demo.c" \
  target/debug/libkernels.a -lpthread -ldl -lm -o "$out/demo-host"
"$out/demo-host" >"$out/host.txt"

python3 "$here/compare.py" "$out/firmware.txt" "$out/host.txt"
