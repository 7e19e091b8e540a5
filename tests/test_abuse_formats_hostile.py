"""Whatever bytes arrive, the parsers answer with reports or a reason (Unreadable), never a crash:
mangled samples of every format, cut anywhere, with bytes flipped, lines dropped or doubled."""


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abuse import formats
from abuse.reports import Unreadable
from tests.abuse_samples import SAMPLES

RAW = [path.read_bytes() for path in sorted(SAMPLES.iterdir()) if path.suffix in {".eml", ".json"}]
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=150)


def read(raw: bytes) -> None:
    try:
        parsed = formats.read(raw)
    except Unreadable as exc:
        assert str(exc)
    else:
        assert parsed.reports, "a message read is at least one report"


@st.composite
def mangled(draw) -> bytes:
    lines = draw(st.sampled_from(RAW)).splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "double", "flip", "cut"]))
        if action == "drop":
            del lines[at]
        elif action == "double":
            lines.insert(at, lines[at])
        elif action == "flip":
            line = bytearray(lines[at] or b"x")
            line[draw(st.integers(0, len(line) - 1))] = draw(st.integers(0, 255))
            lines[at] = bytes(line)
        else:
            lines = lines[:at]
        if not lines:
            break
    return b"".join(lines)


@pytest.mark.django_db
@fixture_ok
@given(raw=mangled())
def test_a_mangled_sample_is_read_or_refused_with_a_reason(raw):
    read(raw)


@pytest.mark.django_db
@fixture_ok
@given(raw=st.binary(max_size=2000))
def test_arbitrary_bytes_are_read_or_refused_with_a_reason(raw):
    read(raw)


def test_the_samples_are_all_there():
    assert len(RAW) >= 18
