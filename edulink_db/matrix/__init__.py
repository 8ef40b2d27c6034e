"""The access matrix: who may do what, from the plan alone.

`cells` is the exhaustive form the conformance probes check against a live database;
`entries` is the readable form a reviewer diffs in a pull request.
"""

from edulink_db.matrix.cells import Cell, build_matrix

__all__ = ["Cell", "build_matrix"]
