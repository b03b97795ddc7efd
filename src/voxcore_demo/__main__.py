import sys

from voxcore_demo.cli import main

sys.exit(main())
