# `python3 -m fpentropy DIR` is `python3 -m fpentropy.plot DIR`.
# SPDX-License-Identifier: GPL-3.0-or-later
import sys

from .plot import main

sys.exit(main())
