"""python -m acmeeh → acmeeh.cli.main()."""

import sys

from acmeeh.cli import main

if __name__ == "__main__":
    sys.exit(main())
