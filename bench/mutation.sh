#!/usr/bin/env bash
# Mutation testing (mutmut) of the modules where decisions are made, each against its own tests:
# how many of the mutants (a < turned <=, a True turned False, ...) the tests notice. Not in CI:
# it is CPU-heavy (each mutant reruns the tests that cover it). Prints one score per module.
#
#   bench/mutation.sh                    # the four modules below
#   bench/mutation.sh abuse/policy.py    # one of them
#   SAMPLE='*[05]' bench/mutation.sh     # only the mutants whose name matches (here: numbered x0 or x5,
#                                        # a fifth), where a module has hundreds; the score is of those
#   SAMPLE='name1 name2' bench/...       # several patterns, e.g. the mutants that survived last time
#
# Each module is mutated in a copy of the project (mutmut works in ./mutants), on the embedded
# SQLite database; tests that need PostgreSQL or Redis skip there (tests/parts.py), as outside CI.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# module -> its own tests
declare -A TESTS=(
    [requests_app/lifecycle.py]="tests/test_request_lifecycle.py"
    [abuse/policy.py]="tests/test_abuse_policy.py tests/test_abuse_policy_traffic.py tests/test_abuse_take_in.py tests/test_abuse_derived_weight.py"
    [egress/outbox.py]="tests/test_egress_outbox.py tests/test_egress_services.py tests/test_egress_http.py"
    [egress/reopening.py]="tests/test_reopen_rule.py tests/test_reopen_authority.py tests/test_final_revocation.py"
)
MODULES=("$@")
((${#MODULES[@]})) || MODULES=(egress/reopening.py requests_app/lifecycle.py abuse/policy.py egress/outbox.py)

score() {
    local module=$1 work
    work=$(mktemp -d "${TMPDIR:-/tmp}/mutation.XXXXXX")
    # shellcheck disable=SC2064  # expand now: the folder of this module
    [[ -n ${KEEP:-} ]] || trap "rm -rf '$work'" RETURN
    git ls-files -z --cached --others --exclude-standard | grep -zv '^bench/' | tar -c --null -T - | tar -x -C "$work"
    ln -s "$ROOT/.venv" "$work/.venv"
    {
        echo "[mutmut]"
        echo "source_paths = ${module%%/*}/"
        echo "only_mutate = $module"
        echo "also_copy ="
        for path in abuse accounts common egress nft_ruleset operations portal requests_app verification templates static \
            manage.py; do
            echo "    $path"
        done
        echo "pytest_add_cli_args_test_selection ="
        for test in ${TESTS[$module]}; do echo "    $test"; done
        echo "pytest_add_cli_args = -p no:cacheprovider -q"
    } >"$work/setup.cfg"
    (
        cd "$work"
        set -f  # SAMPLE's patterns go to mutmut as they are, one per word
        env -u CI -u DATABASE_URL -u PORTAL_REDIS_URL -u PORTAL_BROKER_URL \
            PORTAL_SECRET_KEY=mutation-testing PORTAL_DEBUG=1 PORTAL_TASKS_EAGER=1 \
            .venv/bin/mutmut run --max-children 2 ${SAMPLE:-} >mutmut.log 2>&1 ||
            { tail -c 4000 mutmut.log >&2; exit 1; }
        .venv/bin/mutmut results --all true >results.txt 2>&1 || true
        # A mutant that makes the tests time out (a lock never released, a loop) is caught too.
        grep -v ': not checked$' results.txt >checked.txt || true
        killed=$(grep -cE ': (killed|timeout)$' checked.txt || true)
        total=$(grep -c ': ' checked.txt || true)
        survived=$(grep -vE ': (killed|timeout)$' checked.txt | sed 's/^ */    /' || true)
        printf '%-28s %4d of %4d mutants killed (%s%%):%s\n' "$module" "$killed" "$total" \
            "$(awk -v k="$killed" -v t="$total" 'BEGIN { printf "%.0f", t ? 100 * k / t : 0 }')" \
            "$(sed 's/.*: //' checked.txt | sort | uniq -c | tr -s ' \n' ' ')"
        [[ -z $survived ]] || echo "$survived"
    )
}

for module in "${MODULES[@]}"; do
    [[ -n ${TESTS[$module]:-} ]] || { echo "bench/mutation.sh: no tests named for $module" >&2; exit 2; }
    score "$module"
done
