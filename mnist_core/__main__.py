"""`python -m mnist_core ...`: see mnist_core/cli/."""
from .cli import main

raise SystemExit(main())
