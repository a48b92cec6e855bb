"""Describe the machine a profile is recorded on."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

from mlinspect.profile.record import Host


def host_info(compute_devices: tuple[str, ...]) -> Host:
    """Return OS, chip and software versions of this machine, with the compute devices Core ML reported."""
    system = platform.system()
    if system == "Darwin":
        os_name, os_version = "macOS", platform.mac_ver()[0]
    else:
        os_name, os_version = system or "unknown", platform.release()
    try:
        coremltools_version = metadata.version("coremltools")
    except metadata.PackageNotFoundError:
        coremltools_version = "not installed"
    return Host(
        os=os_name,
        os_version=os_version,
        chip=_chip(system),
        machine=platform.machine(),
        coremltools_version=coremltools_version,
        python_version=platform.python_version(),
        compute_devices=compute_devices,
    )


def _chip(system: str) -> str:
    """Return the CPU brand string, such as "Apple M4"; "unknown" when the OS does not tell."""
    if system == "Darwin":
        try:
            result = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return "unknown"
        return result.stdout.strip() or "unknown"
    return platform.processor() or "unknown"
