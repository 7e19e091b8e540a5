"""The suite's split over pytest-xdist workers (tests/parallel_workers.py) loses no test and keeps
together what shares a server."""

from pathlib import Path

from tests.parallel_workers import LONGEST_SCOPES, SHARED_GROUPS, FileAndGroupScheduling, _with_database, costliest


def test_every_collected_test_has_an_id_of_its_own(request):
    """xdist hands tests out by id: of several with one id, it would run only the first."""
    ids = [item.nodeid for item in request.session.items]
    assert len(set(ids)) == len(ids)


def test_a_files_tests_share_a_worker_and_a_groups_files_too():
    split = FileAndGroupScheduling._split_scope
    [live_stack_file, *_] = sorted(SHARED_GROUPS["live-stack"]["files"])

    assert split(None, "tests/test_x.py::test_a") == split(None, "tests/test_x.py::test_b[1]") == "tests/test_x.py"
    assert split(None, f"{live_stack_file}::test_a") == "live-stack"


def test_a_workers_redis_database_replaces_the_urls_own():
    assert _with_database("redis://127.0.0.1:6379/0", 8) == "redis://127.0.0.1:6379/8"


def test_the_longest_units_go_first_and_the_others_by_their_number_of_tests():
    many, few = "tests/test_many.py", "tests/test_few.py"
    [longest, *_] = sorted(LONGEST_SCOPES, key=LONGEST_SCOPES.get, reverse=True)
    assert LONGEST_SCOPES[longest] > 300 * 0.15, "longer than a file of 300 quick tests"

    assert costliest({many: 300, longest: 3, few: 2}) == longest
    assert costliest({many: 300, few: 2}) == many
    root = Path(__file__).resolve().parent.parent
    assert [scope for scope in LONGEST_SCOPES if scope not in SHARED_GROUPS and not (root / scope).is_file()] == []
