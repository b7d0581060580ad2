"""A C export built for a Cortex-M7 and run on QEMU's ``mps2-an500`` board (semihosting):
logits, flash and SRAM read from the ELF, the stack high-water mark and executed instructions.

Needs the Debian packages ``gcc-arm-none-eabi``, ``libnewlib-arm-none-eabi`` and
``qemu-system-arm`` (:func:`missing_tools` names what is absent). The image is the export's
``main.c`` + ``model.c`` + ``runtime/`` with ``board/startup_cm7.c`` and
``board/mps2_an500.ld``, built with the host's warning flags. Timing: QEMU runs with
``-icount shift=0`` (virtual time advances a fixed step per executed instruction) and the
board counts SysTick ticks around each inference; the reset code measures ticks per
instruction on a loop of known length, so ``instructions`` are executed-instruction counts,
not cycles (a real M7 is dual-issue with caches and wait states: cycles differ).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from nasx.export.mcu.build import CFLAGS, parse_output, sources

BOARD_DIR = Path(__file__).parent / "board"
M7_FLAGS = ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard")
TOOLS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "arm-none-eabi-size": "binutils-arm-none-eabi",
         "arm-none-eabi-nm": "binutils-arm-none-eabi", "qemu-system-arm": "qemu-system-arm"}
QEMU = ("qemu-system-arm", "-M", "mps2-an500", "-nographic", "-semihosting", "-icount",
        "shift=0", "-kernel")


@dataclass(frozen=True)
class M7Run:
    """One Cortex-M7 image run on QEMU.

    Attributes:
        command: the build command (paths relative to the export folder).
        logits: ``(N, K)`` the golden inputs' logits computed on the emulated M7.
        instructions: executed instructions per golden inference.
        flash_bytes: ``.text`` + ``.rodata`` + ``.data`` (+ vectors) less the golden vectors.
        sram_bytes: ``.data`` + ``.bss`` + the stack high-water mark.
        stack_bytes: the stack high-water mark.
        returncode: ``main``'s exit status through semihosting.
    """

    command: str
    logits: Tensor
    instructions: tuple[int, ...]
    flash_bytes: int
    sram_bytes: int
    stack_bytes: int
    returncode: int


def missing_tools() -> str | None:
    """None when the cross toolchain and QEMU are installed, else which Debian package is
    missing (a one-line reason)."""
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian package {package}; .ci/run installs it)"
    if not list(Path("/usr/lib/arm-none-eabi").glob("newlib/**/rdimon.specs")):
        return "newlib rdimon.specs not found (Debian package libnewlib-arm-none-eabi)"
    return None


def build_m7(folder: Path, elf: Path) -> str:
    """Cross-compile the C export in ``folder`` into ``elf``; returns the command line.

    Raises:
        RuntimeError: a compile error (first line quoted).
    """
    cmd = ["arm-none-eabi-gcc", *M7_FLAGS, *CFLAGS, "-I.", "-DNASX_BOARD_TICKS",
           "-specs=rdimon.specs", "-T", str(BOARD_DIR / "mps2_an500.ld"), "-nostartfiles",
           str(BOARD_DIR / "startup_cm7.c"), *sources(folder), "-lm", "-lc", "-lrdimon",
           "-o", str(elf)]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=300,
                          check=False)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[0]
        raise RuntimeError(f"Cortex-M7 build failed ({first})")
    return " ".join(c.replace(str(BOARD_DIR), "board") for c in cmd[:-2]) + " -o model.elf"


def elf_memory(elf: Path) -> tuple[int, int]:
    """``(flash, static SRAM)`` bytes of ``elf``: flash = loaded read-only sections + .data
    image less the golden vectors (``nasx_golden_*``); SRAM = ``.data`` + ``.bss``."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    size = {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\.\S+)\s+(\d+)\s+\d+", out, re.M)}
    flash = sum(size.get(s, 0) for s in (".isr_vector", ".text", ".rodata", ".ARM.exidx",
                                         ".data", ".init_array.00000"))
    syms = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    golden = sum(int(m.group(1), 16) for m in re.finditer(r"^\w+ (\w+) \w nasx_golden_", syms,
                                                           re.M))
    return flash - golden, size.get(".data", 0) + size.get(".bss", 0)


def run_m7(folder: Path, classes: int, timeout: float = 600.0) -> M7Run:
    """Build the C export in ``folder`` for the Cortex-M7, run it on QEMU and parse it.

    Raises:
        RuntimeError: missing tools, a build error, or a run without a summary.
    """
    reason = missing_tools()
    if reason:
        raise RuntimeError(reason)
    elf = folder.resolve() / "model.elf"  # the build runs in the folder: an absolute path
    command = build_m7(folder, elf)
    flash, static = elf_memory(elf)
    ran = subprocess.run([*QEMU, str(elf)], capture_output=True, text=True, timeout=timeout,
                         check=False)
    text = ran.stdout
    logits, _, _, ticks = parse_output(text, classes)
    cal = re.search(r"^calibration (\d+) (\d+)$", text, re.M)
    stack = re.search(r"^stack (\d+)$", text, re.M)
    if cal is None or stack is None:
        raise RuntimeError(f"the Cortex-M7 image printed no calibration/stack: {text[-300:]!r}")
    per_tick = int(cal.group(1)) / int(cal.group(2))
    return M7Run(command, logits, tuple(round(t * per_tick) for t in ticks), flash,
                 static + int(stack.group(1)), int(stack.group(1)), ran.returncode)
