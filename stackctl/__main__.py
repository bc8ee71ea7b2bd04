"""Allow ``python -m stackctl``."""

from stackctl.cli.entry import main

main()
