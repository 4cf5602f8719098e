"""`python -m services.asyncapi`: write schemas/asyncapi.json (`--check`: only say whether it is stale)."""

import sys

from services.asyncapi import main

sys.exit(main(sys.argv[1:]))
