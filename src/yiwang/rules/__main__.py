import sys

from yiwang.rules.cli import main

sys.exit(main())
