import sys

from rshw.cli import main

sys.exit(main())
