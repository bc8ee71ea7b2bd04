"""Allow ``python -m stackctl``."""

from stackctl.cli.app import main

main()
