"""bench_gunicorn's reading of wrk's report: failures fail the benchmark, timeouts are counted apart."""

from __future__ import annotations

from bench.bench_gunicorn import parse_wrk

# wrk 4.1's report, from a real round in which the machine stalled.
REPORT = """Running 8s test @ http://127.0.0.1:47573/essays/the-twelve-factor-settings-file/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    36.56ms   26.35ms 177.39ms   67.56%
    Req/Sec   839.61    253.16     1.50k    63.13%
  Latency Distribution
     50%   31.20ms
     75%   53.15ms
     90%   74.68ms
     99%  109.35ms
  13373 requests in 8.02s, 52.32MB read
  Socket errors: connect 0, read {read}, write 0, timeout {timeout}
{non_2xx}Requests/sec:   1667.74
Transfer/sec:      6.52MB
"""


def report(*, read: int = 0, timeout: int = 0, non_2xx: int = 0) -> str:
    extra = f"  Non-2xx or 3xx responses: {non_2xx}\n" if non_2xx else ""
    return REPORT.format(read=read, timeout=timeout, non_2xx=extra)


def test_rate_and_percentiles_are_read_in_milliseconds():
    run = parse_wrk(report())
    assert (run.requests_per_second, run.p50_ms, run.p99_ms) == (1667.74, 31.2, 109.35)
    assert (run.bad_responses, run.timeouts) == (0, 0)


def test_timeouts_are_counted_apart_from_failed_responses():
    run = parse_wrk(report(timeout=21))
    assert (run.bad_responses, run.timeouts) == (0, 21)


def test_socket_errors_and_error_statuses_are_failed_responses():
    run = parse_wrk(report(read=3, non_2xx=5, timeout=2))
    assert (run.bad_responses, run.timeouts) == (8, 2)
