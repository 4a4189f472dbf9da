"""Moved to fusion_ros.images.folders (issue 18); this re-export keeps fusion_ros.training's imports working."""
from fusion_ros.images.folders import *  # noqa: F401,F403
