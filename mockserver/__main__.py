"""``python -m mockserver [--port N] [--drift NAME ...] [--list-drifts]``: serve the reference mock."""

import sys

from mockserver.server import main

sys.exit(main())
