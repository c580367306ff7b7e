from extraction.engine import Extractor


def metrics(text):
    x = Extractor()
    return [e for e in x.feed(text) + x.close() if e.event_type == "metric"]


def test_key_value_metrics_are_one_event_per_line():
    (event,) = metrics("epoch=3 loss=0.12 acc=0.93 lr=1e-4\n")
    assert event.rule == "metric_kv" and event.risk_level == "low" and event.auto_confirmable
    # The first metric names the event; `metrics` holds every one of the line.
    assert (event.metadata["name"], event.metadata["value"]) == ("epoch", 3.0)
    assert event.metadata["metrics"] == [
        {"name": "epoch", "value": 3.0, "unit": ""},
        {"name": "loss", "value": 0.12, "unit": ""},
        {"name": "acc", "value": 0.93, "unit": ""},
        {"name": "lr", "value": 0.0001, "unit": ""},
    ]


def test_colon_metrics_and_percent_unit():
    (event,) = metrics("loss: 0.5 accuracy: 93%\n")
    assert event.metadata["metrics"] == [
        {"name": "loss", "value": 0.5, "unit": ""},
        {"name": "accuracy", "value": 93.0, "unit": "%"},
    ]
    (event,) = metrics("loss: 0.5\n")
    assert event.metadata == {"name": "loss", "value": 0.5, "unit": ""}


def test_tokens_used():
    for line in ("Tokens used: 1,234", "tokens used: 1234", "total tokens: 1,234"):
        (event,) = metrics(line + "\n")
        assert event.rule == "tokens_used"
        assert event.metadata == {"name": "tokens_used", "value": 1234.0, "unit": "tokens"}


def test_epoch_progress():
    (event,) = metrics("Epoch 3/10\n")
    assert (
        event.metadata["name"] == "epoch"
        and event.metadata["value"] == 3
        and event.metadata["total"] == 10
    )


def test_pytest_summary_is_one_event():
    (event,) = metrics("12 passed, 1 failed in 0.53s\n")
    meta = event.metadata
    assert event.rule == "pytest_summary"
    assert (meta["name"], meta["value"], meta["unit"]) == ("tests", 12, "tests")
    assert (meta["passed"], meta["failed"], meta["duration_s"]) == (12, 1, 0.53)
    (event,) = metrics("===== 3 passed in 0.12s =====\n")
    assert event.metadata["passed"] == 3 and event.metadata["failed"] == 0
    (event,) = metrics("1 failed, 2 passed, 1 skipped, 3 warnings in 1.2s\n")
    assert event.metadata["skipped"] == 1 and event.metadata["warnings"] == 3


def test_unittest_summary():
    (event,) = metrics("Ran 5 tests in 0.003s\n")
    assert event.metadata["value"] == 5 and event.metadata["duration_s"] == 0.003


def test_versions_timestamps_and_urls_are_not_metrics():
    text = (
        "GET / HTTP/1.1 200\nversion 1.2.3\nat 12:00:00\nloss=1.2.3\nid=42 user=7\nlatency: 12:30\n"
    )
    assert metrics(text) == []
