"""Test isolation: each pytest run gets its own ROS domain and localhost-only discovery.

Set before rclpy is imported anywhere, so parallel runs on one machine never see each other.
"""
import os
import random

os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 101)))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")
