"""The benchmarks' whole-machine CPU meter (bench/common.py) counts the work done on the
machine while it runs, this process's own included, and never more than every core for the
whole block."""
import os

from bench.common import MachineCpu, cpu_seconds

CORES = os.cpu_count() or 1
TICKS = 2 * CORES / os.sysconf("SC_CLK_TCK")   # /proc/stat counts clock ticks on each core


def _own_cpu() -> float:
    return cpu_seconds(os.getpid())


def _spin(seconds: float) -> float:
    start = _own_cpu()
    while _own_cpu() - start < seconds:
        sum(range(10_000))
    return _own_cpu() - start


def test_the_meter_counts_this_process_work_and_no_more_than_the_cores_can_do():
    with MachineCpu() as meter:
        spent = _spin(0.3)
    assert meter.busy >= spent - TICKS
    assert meter.busy <= meter.wall * CORES + TICKS
    assert spent / (meter.wall * CORES) - TICKS <= meter.share <= 1.0 + TICKS / meter.wall
