"""The toxics bench: its vaurien options, its rows and their targets, the
bulk transfer it times, and its place in C{python -m bench}."""
from __future__ import annotations

from twisted.trial.unittest import TestCase

from bench import __main__ as bench_main
from bench import processes, report, toxics


class OptionsTests(TestCase):
    def test_one_downstream_toxic_with_its_attributes(self) -> None:
        self.assertEqual(toxics.toxic_args("lat", "latency", latency=100),
                         ["--toxic", "lat:latency:downstream", "--toxic-lat-latency", "100"])

    def test_the_options_are_vauriens(self) -> None:
        from vaurien.config import VaurienOptions

        options = VaurienOptions()
        options.parseOptions(["--backend", "127.0.0.1:1"]
                             + toxics.toxic_args("bw", "bandwidth", rate=toxics.RATE_KBS))
        (entry,) = options.settings.proxies[0].toxics
        self.assertEqual((entry.name, entry.stream, entry.attributes["rate"]),
                         ("bw", "downstream", toxics.RATE_KBS))


class RowTests(TestCase):
    def test_latency_samples_are_round_trips_minus_the_direct_median(self) -> None:
        p50, p99 = toxics.latency_metrics()
        rtts = [0.1005] * 98 + [0.1012, 0.1030]
        extra = toxics.record_latency(p50, p99, "vaurien", 0.0003, rtts)
        self.assertAlmostEqual(extra[0], 100.2)
        self.assertAlmostEqual(p50["rounds"]["vaurien"][0], 100.2)
        self.assertAlmostEqual(p99["rounds"]["vaurien"][0], 100.9)

    def test_latency_target_is_within_one_ms_of_the_setting(self) -> None:
        p50, p99 = toxics.latency_metrics()
        for value, met in ((100.9, True), (101.2, False), (99.5, True), (98.9, False)):
            p99["rounds"] = {"vaurien": [value]}
            self.assertIs(report.summarize(p99)["met"], met, value)

    def test_latency_rows_print_hundredths_of_a_ms(self) -> None:
        p50, p99 = toxics.latency_metrics()
        for m in (p50, p99):
            report.add(m, "direct", 0.27)
            report.add(m, "vaurien", 101.234)
        row = report.table([p99]).splitlines()[2].split()
        self.assertIn("101.23", row)
        self.assertIn("0.27", row)
        self.assertEqual(row[-1], "NO")

    def test_bandwidth_target_is_within_five_percent(self) -> None:
        row = toxics.bandwidth_metric(5 * 10**6)
        self.assertEqual(row["name"], "bandwidth 1000 KB/s: 5 MB")
        for value, met in ((1049, True), (951, True), (1051, False), (940, False)):
            row["rounds"] = {"vaurien": [value]}
            self.assertIs(report.summarize(row)["met"], met, value)

    def test_rows_without_decimals_print_as_before(self) -> None:
        m = report.metric("bulk", "x", "MB/s")
        report.add(m, "direct", 1234.5)
        report.add(m, "vaurien", 100.4)
        self.assertEqual(report.table([m]).splitlines()[2].split()[3:6], ["1,234", "100", "0.08"])


class TransferTests(TestCase):
    def test_every_byte_comes_back_and_is_timed(self) -> None:
        with processes.helper("echo") as echo:
            got, seconds = toxics.transfer(echo.port, 300_000, deadline_s=10)
        self.assertEqual(got, 300_000)
        self.assertGreater(seconds, 0)

    def test_nothing_listening_fails_loudly(self) -> None:
        self.assertRaises(OSError, toxics.transfer, processes.free_port(), 10, 5)


class RegisteredTests(TestCase):
    def test_in_the_default_set_and_runnable_alone(self) -> None:
        self.assertIn("toxics", bench_main.DEFAULT)
        args = bench_main._parser().parse_args(["--only", "toxics", "--compare", "HEAD~1"])
        self.assertEqual(args.only, ["toxics"])
