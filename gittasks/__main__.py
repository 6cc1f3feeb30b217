import sys

from gittasks.main import main

sys.exit(main())
