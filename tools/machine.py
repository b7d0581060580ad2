"""The machine a benchmark ran on, in one line (a module of the tools, imported from ``tools/``)."""

from __future__ import annotations


def machine_line() -> str:
    """CPU model, logical cores, torch version and load average, for a benchmark's header."""
    import os
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((x.split(":", 1)[1].strip() for x in f if x.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__}, load average "
            f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")
