"""`python -m fusion_ros VERB` == `fusion-ros VERB`."""

import sys

from fusion_ros.cli.main import main

sys.exit(main())
