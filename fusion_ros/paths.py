# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Where installed files live.

Whether from `colcon build` (share/fusion_ros) or a source checkout.
"""

from __future__ import annotations

from pathlib import Path
import sys

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent


def share_file(relative: str) -> Path:
    """Find `config/...` or `launch/...`: the ament share directory first, then the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory, PackageNotFoundError

        try:
            candidate = Path(get_package_share_directory('fusion_ros')) / relative
            if candidate.exists():
                return candidate
        except (PackageNotFoundError, OSError, ValueError):
            pass  # not in an ament index, or AMENT_PREFIX_PATH unset (plain pip install)
    except ImportError:
        pass
    for root in (SOURCE_ROOT, Path(sys.prefix) / 'share' / 'fusion_ros'):
        candidate = root / relative
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f'{relative} not found in the fusion_ros share directory or {SOURCE_ROOT}'
    )


def fastdds_profile() -> Path | None:
    """Return the shipped Fast DDS profile (big shared-memory segment for 1 MB frames).

    If present.
    """
    try:
        return share_file('config/fastdds.xml')
    except FileNotFoundError:
        return None
    except Exception:  # e.g. ament_index raising OSError when AMENT_PREFIX_PATH is unset
        candidate = SOURCE_ROOT / 'config' / 'fastdds.xml'
        return candidate if candidate.exists() else None
