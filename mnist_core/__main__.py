"""`python -m mnist_core ...`: see mnist_core/cli.py."""
from .cli import main

raise SystemExit(main())
