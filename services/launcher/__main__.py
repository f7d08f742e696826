"""`make run`: python -m services.launcher"""

import sys

from services.launcher import main

sys.exit(main())
