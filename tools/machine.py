"""The machine a benchmark ran on, in one line (a module of the tools, imported from ``tools/``)."""

from __future__ import annotations


def cpu_info() -> tuple[str, set[str]]:
    """This CPU's model name (``platform`` when ``/proc/cpuinfo`` is not there) and flags."""
    import platform

    fields: dict[str, str] = {}  # the first processor's
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = fields.get("model name") or platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    return model, flags


def cpu_kind() -> str:
    """This CPU's model name and the vector extensions that change float rounding."""
    model, flags = cpu_info()
    vector = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    return f"{model} ({' '.join(vector) or 'no avx2'})"


def machine_line() -> str:
    """CPU model, logical cores, torch version and load average, for a benchmark's header."""
    import os

    import torch

    cpu, _ = cpu_info()
    return (f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__}, load average "
            f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")
