"""Settings every test runs under."""

import os

# The auto engine's choices follow the calibration file in the user's cache folder, if
# `imgconv bench --calibrate` wrote one; the tests run with the built-in costs (a test that
# needs a file names its own), in their own processes and the CLI's they start.
os.environ["IMGCONV_CALIBRATION"] = os.path.join(os.path.dirname(__file__), "tests", "no-such-calibration.json")
