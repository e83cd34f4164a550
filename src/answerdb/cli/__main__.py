"""``python -m answerdb.cli``: the same as the ``answerdb`` command."""

import sys

from answerdb.cli.main import main

sys.exit(main())
