# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`python -m fusion_ros VERB` == `fusion-ros VERB`."""

import sys

from fusion_ros.cli.main import main

sys.exit(main())
