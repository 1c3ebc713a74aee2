"""What the benchmark scripts share; no heavy imports (bench_scaling measures memory)."""

#: Hoffmann et al. 2022's Chinchilla estimates, the start of every single-start benchmark fit.
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
