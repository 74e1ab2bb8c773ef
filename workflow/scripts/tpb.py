"""Entry point the rules call: `python workflow/scripts/tpb.py <command> ...`.

Puts this checkout's workflow/ first on the path, so rules run the code beside the Snakefile
whether or not the package is installed, then hands over to trt_plugin_bench.cli.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trt_plugin_bench.cli import main  # noqa: E402

if __name__ == "__main__":  # not in a spawned worker process (the tune rule's parallel builds)
    sys.exit(main())
