"""C{python -m vaurien}: the C{vaurien} command."""
from vaurien.script import main

main()
