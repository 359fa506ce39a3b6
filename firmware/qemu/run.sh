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
arm-none-eabi-gcc "${cpu[@]}" -std=c11 -Os -g -Wall -Wextra -Werror \
  -ffunction-sections -fdata-sections -Iinclude \
  "$out/startup.o" "$here/main.c" "$here/demo.c" "$fwlib" \
  --specs=nano.specs --specs=rdimon.specs -u _printf_float \
  -Wl,--gc-sections -Wl,-z,noexecstack -T "$here/mps2_an386.ld" -lm -o "$out/demo.axf"
arm-none-eabi-size "$out/demo.axf"

timeout 120 qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic \
  -semihosting-config enable=on,target=native -kernel "$out/demo.axf" >"$out/firmware.txt"
echo "firmware run: $(wc -l <"$out/firmware.txt") lines"

# The same demo on the host, against the host static library.
cargo build --locked -p kernels-ffi
cc -std=c11 -Wall -Wextra -Werror -Iinclude "$here/host_main.c" "$here/demo.c" \
  target/debug/libkernels.a -lpthread -ldl -lm -o "$out/demo-host"
"$out/demo-host" >"$out/host.txt"

python3 "$here/compare.py" "$out/firmware.txt" "$out/host.txt"
