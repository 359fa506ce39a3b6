"""Compares the firmware demo's output with the host's, line by line.

Text must match exactly; numbers must agree to a relative 1e-5 (plus 1e-6 absolute):
the Cortex-M4 runs f64 in software and its libm differs from the host's in the last
bits, which f32 kernels can amplify a little. Usage: compare.py FIRMWARE HOST
"""

import re
import sys

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)")


def split(line):
    numbers = [float(x) for x in NUMBER.findall(line)]
    return NUMBER.sub("#", line), numbers


def main(firmware_path, host_path):
    firmware = open(firmware_path).read().splitlines()
    host = open(host_path).read().splitlines()
    problems = []
    if len(firmware) != len(host):
        problems.append(f"{len(firmware)} firmware lines vs {len(host)} host lines")
    for k, (f, h) in enumerate(zip(firmware, host), 1):
        (ft, fv), (ht, hv) = split(f), split(h)
        if ft != ht or len(fv) != len(hv):
            problems.append(f"line {k}: {f!r} vs {h!r}")
            continue
        for a, b in zip(fv, hv):
            same = a == b or (a != a and b != b)
            if not same and abs(a - b) > 1e-5 * max(abs(a), abs(b)) + 1e-6:
                problems.append(f"line {k}: {a!r} vs {b!r} in {f!r}")
    for p in problems:
        print("MISMATCH", p)
    if any(line.startswith("FAIL") for line in firmware):
        problems.append("the firmware demo reported failures")
    print(f"firmware vs host: {len(firmware)} lines compared, {len(problems)} mismatches")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
