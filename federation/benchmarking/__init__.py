"""Benchmarking clusters against their peers: the facts the hub knows of a cluster (:mod:`.indicators`), the
indicators plugins compute from them, and the peer statistics (:mod:`.percentiles`). Pure: no Flask, no database."""
