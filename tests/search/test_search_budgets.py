"""Budget specs: parsed values and every malformed form's exact one-line error."""

from __future__ import annotations

import pytest

from nasx.search.budgets import (
    Budget,
    BudgetError,
    budget_from_flags,
    collect_budgets,
    parse_budget,
    parse_budgets,
)


def test_issue_example_parses_to_values_in_ms_and_kb() -> None:
    budgets = parse_budgets("stm32f746: sram<=256KB, flash<=1MB; host-cpu: latency<=2ms; "
                            "h100: latency<=0.2ms")
    assert budgets == [
        Budget("stm32f746: sram<=256KB, flash<=1MB", "stm32f746", None, 256.0, 1024.0),
        Budget("host-cpu: latency<=2ms", "host-cpu", 2.0, None, None),
        Budget("h100: latency<=0.2ms", "h100", 0.2, None, None),
    ]
    assert budgets[0].limits() == {"sram": 256.0, "flash": 1024.0}
    assert budgets[0].constraints() == {"latency_ms": None, "sram_kb": 256.0, "flash_kb": 1024.0}


@pytest.mark.parametrize(("text", "field", "value"), [
    ("d: latency<=250us", "latency_ms", 0.25),
    ("d: latency <= 1.5 ms", "latency_ms", 1.5),
    ("d: LATENCY<=3MS", "latency_ms", 3.0),
    ("d: sram<=0.5MB", "sram_kb", 512.0),
    ("d: flash<=96kb", "flash_kb", 96.0),
    ("d: flash<=1e3KB", "flash_kb", 1000.0),
])
def test_units_convert(text: str, field: str, value: float) -> None:
    assert getattr(parse_budget(text), field) == pytest.approx(value, rel=1e-12)


def test_name_is_canonical_in_metric_order() -> None:
    b = parse_budget("  stm32f746 :flash <= 1 MB,sram<=256.0KB ")
    assert b.name == "stm32f746: sram<=256KB, flash<=1MB"
    assert b.device == "stm32f746"


def test_trailing_semicolon_is_ignored() -> None:
    assert len(parse_budgets("a: sram<=1KB;")) == 1


@pytest.mark.parametrize(("spec", "message"), [
    ("", "--budgets is empty; give e.g. 'stm32f746: sram<=256KB, flash<=1MB; host-cpu: "
         "latency<=2ms'"),
    (" ; ", "--budgets is empty; give e.g. 'stm32f746: sram<=256KB, flash<=1MB; host-cpu: "
            "latency<=2ms'"),
    ("stm32f746 sram<=256KB", "budget 'stm32f746 sram<=256KB': expected '<device>: <limit>, "
                              "...', e.g. 'stm32f746: sram<=256KB, flash<=1MB'"),
    (": sram<=256KB", "budget ': sram<=256KB': no device before ':'; name a device profile "
                      "(see `nasx devices`)"),
    ("stm32f746:", "budget 'stm32f746:': no limits after 'stm32f746:'; give e.g. "
                   "sram<=256KB, flash<=1MB or latency<=2ms"),
    ("d: sram<=1KB,, flash<=1MB", "budget 'd: sram<=1KB,, flash<=1MB': empty limit between "
                                  "commas"),
    ("d: speed<=2ms", "budget 'd: speed<=2ms': unknown metric 'speed' in 'speed<=2ms' "
                      "(allowed: latency, sram, flash)"),
    ("d: sram>=2KB", "budget 'd: sram>=2KB': 'sram>=2KB' uses '>='; a budget is an upper limit, "
                     "write sram<=<number><unit>"),
    ("d: sram<2KB", "budget 'd: sram<2KB': 'sram<2KB' uses '<'; a budget is an upper limit, "
                    "write sram<=<number><unit>"),
    ("d: sram 2KB", "budget 'd: sram 2KB': limit 'sram 2KB' is not of the form "
                    "<metric><=<number><unit>, e.g. sram<=256KB"),
    ("d: sram<=abcKB", "budget 'd: sram<=abcKB': 'sram<=abcKB': 'abcKB' is not a number "
                       "followed by a unit, e.g. sram<=256KB"),
    ("d: latency<=", "budget 'd: latency<=': 'latency<=': '' is not a number followed by a "
                     "unit, e.g. latency<=2ms"),
    ("d: sram<=1.2.3KB", "budget 'd: sram<=1.2.3KB': 'sram<=1.2.3KB': '1.2.3' is not a number"),
    ("d: sram<=256", "budget 'd: sram<=256': 'sram<=256' has no unit; give KB or MB, e.g. "
                     "sram<=256KB"),
    ("d: latency<=2", "budget 'd: latency<=2': 'latency<=2' has no unit; give ms or us, e.g. "
                      "latency<=2ms"),
    ("d: sram<=2ms", "budget 'd: sram<=2ms': 'sram<=2ms': unit 'ms' does not fit sram (use KB "
                     "or MB)"),
    ("d: latency<=2KB", "budget 'd: latency<=2KB': 'latency<=2KB': unit 'KB' does not fit "
                        "latency (use ms or us)"),
    ("d: flash<=2GB", "budget 'd: flash<=2GB': 'flash<=2GB': unit 'GB' does not fit flash (use "
                      "KB or MB)"),
    ("d: sram<=0KB", "budget 'd: sram<=0KB': 'sram<=0KB': the limit must be a positive finite "
                     "number"),
    ("d: sram<=-4KB", "budget 'd: sram<=-4KB': 'sram<=-4KB': the limit must be a positive "
                      "finite number"),
    ("d: latency<=1e999ms", "budget 'd: latency<=1e999ms': 'latency<=1e999ms': the limit "
                            "must be a positive finite number"),
    ("d: sram<=1KB, sram<=2KB", "budget 'd: sram<=1KB, sram<=2KB': sram is limited twice; keep "
                                "one limit per metric"),
    ("d: sram<=1KB; d: sram<=1024B", "budget 'd: sram<=1024B': 'sram<=1024B': unit 'B' does not "
                                     "fit sram (use KB or MB)"),
    ("d: sram<=1MB; d: sram<=1024KB", "budget 'd: sram<=1024KB' is given twice; drop one"),
])
def test_malformed_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(BudgetError) as err:
        parse_budgets(spec)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_flags_form_one_budget() -> None:
    b = budget_from_flags("stm32f746", max_sram_kb=256, max_flash_kb=1024)
    assert b == Budget("stm32f746: sram<=256KB, flash<=1024KB", "stm32f746", None, 256.0, 1024.0)
    assert budget_from_flags("host-cpu") is None


@pytest.mark.parametrize(("kw", "message"), [
    ({"max_latency_ms": 0.0}, "--max-latency-ms 0: give a positive finite number"),
    ({"max_sram_kb": -1.0}, "--max-sram-kb -1: give a positive finite number"),
    ({"max_flash_kb": float("nan")}, "--max-flash-kb nan: give a positive finite number"),
])
def test_bad_flags(kw: dict[str, float], message: str) -> None:
    with pytest.raises(BudgetError) as err:
        budget_from_flags("d", **kw)
    assert str(err.value) == message


def test_collect_devices_and_budgets() -> None:
    devices, budgets = collect_budgets(["host-cpu", "h100"], "stm32f746: sram<=256KB; "
                                       "h100: latency<=0.2ms", max_latency_ms=2.0)
    assert devices == ["host-cpu", "h100", "stm32f746"]
    assert [b.name for b in budgets] == ["host-cpu: latency<=2ms", "h100: latency<=2ms",
                                         "stm32f746: sram<=256KB", "h100: latency<=0.2ms"]


@pytest.mark.parametrize(("devices", "spec", "kw", "message"), [
    ([], None, {}, "no device to search for; give --device NAME or --budgets 'stm32f746: "
                   "sram<=256KB, flash<=1MB; host-cpu: latency<=2ms'"),
    ([], None, {"max_sram_kb": 4.0}, "--max-latency-ms/--max-sram-kb/--max-flash-kb need "
                                     "--device; or write the limits into --budgets"),
    (["d"], "d: latency<=2ms", {"max_latency_ms": 2.0}, "budget 'd: latency<=2ms' is given "
                                                        "twice; drop one"),
])
def test_collect_errors(devices: list[str], spec: str | None, kw: dict[str, float],
                        message: str) -> None:
    with pytest.raises(BudgetError) as err:
        collect_budgets(devices, spec, **kw)
    assert str(err.value) == message
