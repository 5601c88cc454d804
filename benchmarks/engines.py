"""The engine benchmark: the same as ``imgconv bench`` (see imgconv/bench.py).

    python benchmarks/engines.py [--quick] [--budget SECONDS] [--no-memory]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgconv.bench import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
