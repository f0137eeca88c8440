import sys

from nascost.cli.main import main

sys.exit(main())
