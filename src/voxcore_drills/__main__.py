import sys

from voxcore_drills.cli import main

sys.exit(main())
