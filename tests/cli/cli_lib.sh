# What the CLI end-to-end scripts share (sourced): running attn, checking exit codes and messages, and running
# the cases a script defines as case_NAME functions listed in CASES. The script sets ATTN and WORK first and may
# define setup_shared, run once before the cases.

# Helpers. Every case runs in its own directory; run_attn leaves the exit code in $rc, output in out.txt/err.txt.

# Says which line of the case failed and the attn command it ran last, then ends the case.
fail() {
  local i line=?
  for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
    if [[ ${FUNCNAME[i]} == case_* ]]; then line=${BASH_LINENO[i - 1]}; fi
  done
  echo "    line $line: $*" >&2
  echo "    after: attn ${last_args:-}" >&2
  if [[ -s err.txt ]]; then sed 's/^/    stderr: /' err.txt | head -5 >&2; fi
  exit 1
}

run_attn() {
  last_args="$*"
  set +e
  "$ATTN" "$@" >out.txt 2>err.txt
  rc=$?
  set -e
}

run_attn_stdin() {  # run_attn_stdin FILE ARGS...
  local input=$1
  shift
  last_args="$* <$input"
  set +e
  "$ATTN" "$@" <"$input" >out.txt 2>err.txt
  rc=$?
  set -e
}

expect_rc() { [[ $rc == "$1" ]] || fail "exit code $rc, expected $1"; }
has() { grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(head -c 300 "$1")"; }
lacks() { ! grep -qF -- "$2" "$1" || fail "$1 has '$2'"; }
lines() { [[ $(wc -l <"$1") == "$2" ]] || fail "$1 has $(wc -l <"$1") lines, expected $2"; }

# A runtime error: exit 1 and one line "attn: error: ..." holding every given part; no crash or trace.
expect_error() {
  expect_rc 1
  [[ $(wc -l <err.txt) == 1 ]] || fail "expected one error line, got $(wc -l <err.txt)"
  grep -q '^attn: error: ' err.txt || fail "the message does not start with 'attn: error: '"
  local part
  for part in "$@"; do has err.txt "$part"; done
  [[ ! -s out.txt ]] || fail "output on stdout after an error: $(head -c 200 out.txt)"
}

# A usage error: exit 2 and CLI11's message naming the problem.
expect_usage_error() {
  expect_rc 2
  local part
  for part in "$@"; do has err.txt "$part"; done
}

# interrupt_when [--nth N] PATTERN ARGS...: runs attn ARGS in the background (stdout to out.txt, stderr to
# err.txt), presses Ctrl-C once N lines (default 1) of err.txt match PATTERN, and leaves the exit code in $rc.
interrupt_when() {
  local nth=1 pattern pid i matches
  if [[ $1 == --nth ]]; then
    nth=$2
    shift 2
  fi
  pattern=$1
  shift
  last_args="$*"
  "$ATTN" "$@" >out.txt 2>err.txt &
  pid=$!
  for ((i = 0; i < 3000; i++)); do
    matches=$(grep -c "$pattern" err.txt 2>/dev/null) || true
    ((${matches:-0} >= nth)) && break
    sleep 0.01
  done
  kill -INT $pid 2>/dev/null || fail "training ended before it could be interrupted"
  set +e
  wait $pid
  rc=$?
  set -e
}

json_number() {  # json_number KEY FILE: the first "KEY": number in FILE
  grep -o "\"$1\":[-0-9.eE+]*" "$2" | head -1 | cut -d: -f2
}

checksum() { find "$1" -type f -exec cksum {} + | sort; }

# run_cases [CASE ...] [-CASE ...]: the named cases (default: all of CASES) less those named with a leading '-',
# each in its own directory under $WORK; prints ok/FAIL per case and exits non-zero when one failed.
run_cases() {
  only=() skip=()
  for arg in "$@"; do
    if [[ $arg == -* ]]; then skip+=("${arg#-}"); else only+=("$arg"); fi
  done
  ((${#only[@]} > 0)) && CASES=("${only[@]}")
  kept=()
  for name in "${CASES[@]}"; do
    [[ " ${skip[*]} " == *" $name "* ]] || kept+=("$name")
  done
  CASES=("${kept[@]}")
  if declare -F setup_shared >/dev/null; then setup_shared; fi
  failed=()
  for name in "${CASES[@]}"; do
    declare -F "case_$name" >/dev/null || { echo "no such case: $name" >&2; exit 2; }
    mkdir "$WORK/$name"
    start=$(date +%s%N)
    set +e
    (
      set -euo pipefail
      cd "$WORK/$name"
      "case_$name"
    )
    status=$?
    set -e
    ms=$((($(date +%s%N) - start) / 1000000))
    if ((status == 0)); then
      echo "ok    $name (${ms} ms)"
    else
      echo "FAIL  $name (${ms} ms)"
      failed+=("$name")
    fi
  done
  if ((${#failed[@]} > 0)); then
    echo "failed cases: ${failed[*]}"
    exit 1
  fi
  echo "all ${#CASES[@]} cases passed"
}
