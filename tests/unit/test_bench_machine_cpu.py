"""The benchmarks' whole-machine CPU meter (bench/common.py) counts work done on the
machine while it runs, including this process's own."""
import os

from bench.common import MachineCpu, own_cpu_seconds


def _spin(cpu_seconds: float) -> float:
    start = own_cpu_seconds()
    while own_cpu_seconds() - start < cpu_seconds:
        sum(range(10_000))
    return own_cpu_seconds() - start


def test_the_meter_counts_this_process_work():
    with MachineCpu() as meter:
        spent = _spin(0.3)
    # the machine did at least what this process did (clock ticks: allow one tick a core)
    assert meter.busy >= spent - 2 * (os.cpu_count() or 1) / os.sysconf("SC_CLK_TCK")
    assert 0 < meter.share <= 1.0 + 1e-9
    assert meter.wall >= spent / (os.cpu_count() or 1)

