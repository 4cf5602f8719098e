"""`python -m services.devstack.manifests [--check]`: write (or check) deploy/'s Kafka files from topology."""

import sys

from services.devstack.manifests import main

sys.exit(main(sys.argv[1:]))
