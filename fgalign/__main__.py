import sys

from fgalign.cli import main

sys.exit(main())
