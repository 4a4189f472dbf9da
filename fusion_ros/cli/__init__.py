"""`fusion-ros` command line: one verb per job."""
