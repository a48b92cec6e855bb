"""Profiles: portable records of what Core ML reported for a model, and latency attributed to its ops.

`load_profile(path, model)` reads and checks a profile file;
`attribute(profile, analysis)` estimates per-op and per-category latency.
Recording (`mlinspect.profile.recording`) needs macOS; the rest runs anywhere.
"""

from __future__ import annotations

from mlinspect.profile.attribution import (
    Attribution,
    CategoryTiming,
    Coverage,
    OpTiming,
    attribute,
    select_run,
)
from mlinspect.profile.errors import (
    InvalidProfileError,
    ProfileError,
    ProfileMismatchError,
    RecordingError,
    RecordingUnavailableError,
    RunNotFoundError,
)
from mlinspect.profile.loading import load_profile, read_profile, save_profile
from mlinspect.profile.record import (
    COMPUTE_UNITS,
    DEVICES,
    ESTIMATE_LABEL,
    OpPlacement,
    Profile,
    Run,
    Stats,
)

__all__ = [
    "COMPUTE_UNITS",
    "DEVICES",
    "ESTIMATE_LABEL",
    "Attribution",
    "CategoryTiming",
    "Coverage",
    "InvalidProfileError",
    "OpPlacement",
    "OpTiming",
    "Profile",
    "ProfileError",
    "ProfileMismatchError",
    "RecordingError",
    "RecordingUnavailableError",
    "Run",
    "RunNotFoundError",
    "Stats",
    "attribute",
    "load_profile",
    "read_profile",
    "save_profile",
    "select_run",
]
