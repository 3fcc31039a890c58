"""Code the tests and the benchmarks share: the tiny model, the soak harness, latency statistics.

bench/ may import tests.support; tests never import bench.
"""
