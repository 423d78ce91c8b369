"""``python -m neuropil`` is the ``neuropil`` command."""
from neuropil.cli import main

raise SystemExit(main())
