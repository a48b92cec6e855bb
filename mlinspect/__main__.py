"""`python -m mlinspect`: the same command as `mlinspect`."""

from mlinspect.cli.main import main

main()
