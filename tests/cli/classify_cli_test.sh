#!/usr/bin/env bash
# End-to-end tests of `attn classify train | test | predict | explain`: exit codes, input formats, streaming,
# outputs, bad input and Ctrl-C with --resume, on tiny synthetic data made here (run by CTest as cli.classify).
# Usage: classify_cli_test.sh path/to/attn [CASE ...] [-CASE ...]: the named cases (default: all) less those named
# with a leading '-'. A failed case prints what it expected and what it got.
set -euo pipefail
source "$(dirname "$0")/cli_lib.sh"

ATTN=$(realpath "$1")
shift
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Models this small train fastest on one thread, above all when CTest runs other tests beside this one.
export OMP_NUM_THREADS=1

TINY=(--embed-dim 8 --hidden 8 --epochs 2 --min-count 1 -q)
# Enough for the synthetic task to be learned, still well under a second.
LEARN=(--embed-dim 8 --hidden 8 --epochs 4 --min-count 1 --lr 0.05 --warmup 0 --batch-size 8 --patience 0 -q)
MODEL=$WORK/model  # trained once on the fastText data; the cases only read it


# Synthetic sentiment: two class words among three filler words; line i is pos when i is even.
gen_fasttext() {  # gen_fasttext N SEED
  awk -v n="$1" -v seed="$2" 'BEGIN {
    srand(seed)
    split("good great fine excellent happy love", P, " "); split("bad awful poor terrible sad hate", N, " ")
    split("the a movie film was is it this and", F, " ")
    for (i = 0; i < n; i++) {
      pos = i % 2 == 0
      a = pos ? P[1 + int(rand() * 6)] : N[1 + int(rand() * 6)]
      b = pos ? P[1 + int(rand() * 6)] : N[1 + int(rand() * 6)]
      printf "__label__%s %s %s %s %s %s\n", pos ? "pos" : "neg", F[1 + int(rand() * 9)], a, F[1 + int(rand() * 9)], b,
             F[1 + int(rand() * 9)]
    }
  }'
}

strip_labels() { sed 's/^__label__[a-z]* //' "$1"; }

# ---------------------------------------------------------------------------------------------------------------
# Cases.

case_help_on_every_command() {
  local cmd
  for cmd in "" "classify" "classify train" "classify test" "classify predict" "classify explain"; do
    # shellcheck disable=SC2086
    run_attn $cmd --help
    expect_rc 0
    has out.txt "Usage"
  done
  run_attn classify train --help
  has out.txt "--resume"
  has out.txt "--skip-bad"
  has out.txt "--label-column"
  has out.txt "--pretrain-epochs"
  run_attn classify predict --help
  has out.txt "--top"
  run_attn classify explain --help
  has out.txt "--html"
  has out.txt "--no-color"
}

case_usage_errors_exit_2() {
  gen_fasttext 20 1 >train.txt
  run_attn classify
  expect_usage_error "subcommand"
  run_attn classify train train.txt
  expect_usage_error "--output is required"
  run_attn classify train train.txt -o m --bogus
  expect_usage_error "--bogus"
  run_attn classify train train.txt -o m --epochs 0
  expect_usage_error "--epochs" "must be >= 1, got 0"
  run_attn classify train train.txt -o m --epochs many
  expect_usage_error "'many' is not a number"
  run_attn classify train train.txt -o m --dropout 1.5
  expect_usage_error "--dropout" "in [0, 1)"
  run_attn classify train train.txt -o m --pretrain-dropout 1
  expect_usage_error "--pretrain-dropout" "in [0, 1)"
  run_attn classify train train.txt -o m --format xml
  expect_usage_error "--format" "xml"
  run_attn classify train train.txt -o m --header --no-header
  expect_usage_error "--header excludes --no-header"
  run_attn classify predict "$MODEL" train.txt -k 0
  expect_usage_error "--top" "must be >= 1, got 0"
  run_attn classify test "$MODEL"
  expect_usage_error "data is required"
  run_attn classify explain "$MODEL"
  expect_usage_error "give a file (or - for stdin) or --text"
  [[ ! -e m ]] || fail "a usage error wrote the model directory"
}

case_train_writes_a_model_that_learned() {
  [[ -f $MODEL/config.json && -f $MODEL/model.safetensors && -f $MODEL/vocab.txt ]] || fail "model files missing"
  has "$MODEL/config.json" '"task": "classify"'
  gen_fasttext 40 7 >test.txt
  run_attn classify test "$MODEL" test.txt --json
  expect_rc 0
  local acc
  acc=$(json_number accuracy out.txt)
  awk -v a="$acc" 'BEGIN { exit !(a >= 0.9 && a <= 1) }' || fail "accuracy $acc on separable data, expected >= 0.9"
  # train --json: the validation metrics as one object on stdout, nothing else there.
  gen_fasttext 60 2 >train.txt
  run_attn classify train train.txt -o m "${TINY[@]}" --json
  expect_rc 0
  lines out.txt 1
  has out.txt '"macro_f1":'
}

case_test_report_and_json_metrics() {
  { gen_fasttext 30 11; printf '__label__pos good bad\n__label__neg great awful\n__label__neg fine\n'; } >test.txt
  run_attn classify test "$MODEL" test.txt
  expect_rc 0
  local word
  for word in precision recall f1-score support accuracy "macro avg" "confusion matrix" neg pos; do
    has out.txt "$word"
  done

  run_attn classify test "$MODEL" test.txt --json
  expect_rc 0
  lines out.txt 1
  grep -q '^{.*}$' out.txt || fail "not one JSON object"
  for word in accuracy macro_precision macro_recall macro_f1 micro_precision micro_recall micro_f1 per_class \
    confusion; do
    has out.txt "\"$word\":"
  done
  ! grep -o '"[A-Za-z_]*":' out.txt | grep -q '[A-Z]' || fail "a key is not lower case"
  cp out.txt metrics.json
  run_attn_stdin test.txt classify test "$MODEL" - --json
  expect_rc 0
  cmp -s out.txt metrics.json || fail "test on stdin (-) differs from test on the file"
  # Accuracy and the confusion matrix, recomputed from predict's top labels and the true labels.
  run_attn classify predict "$MODEL" test.txt
  expect_rc 0
  lines out.txt 33
  local expected
  expected=$(sed 's/^__label__\([a-z]*\) .*/\1/' test.txt | paste - <(cut -f1 out.txt) | awk '
    { n++; ok += $1 == $2; c[$1, $2]++ }
    END {
      printf "%.9f [[%d,%d],[%d,%d]]", ok / n, c["neg", "neg"], c["neg", "pos"], c["pos", "neg"], c["pos", "pos"]
    }')
  local got
  got="$(printf '%.9f' "$(json_number accuracy metrics.json)") $(grep -o '"confusion":\[\[[0-9,]*\],\[[0-9,]*\]\]' \
    metrics.json | cut -d: -f2)"
  [[ $got == "$expected" ]] || fail "test --json says $got, predict's answers give $expected"
}

case_predict_top_k_from_file_and_stdin() {
  printf 'great love good\nawful hate bad\n' >texts.txt
  run_attn classify predict "$MODEL" texts.txt -k 2
  expect_rc 0
  lines out.txt 2
  awk -F'\t' 'NF != 4 || $2 < $4 || ($2 + $4 < 0.999) || ($2 + $4 > 1.001) { exit 1 }' out.txt ||
    fail "expected 'label p label p' with p sorted and summing to 1: $(cat out.txt)"
  [[ $(cut -f1 out.txt | paste -sd,) == "pos,neg" ]] || fail "top labels $(cut -f1 out.txt | paste -sd,)"
  cp out.txt from_file.txt
  run_attn_stdin texts.txt classify predict "$MODEL" - -k 2
  expect_rc 0
  cmp -s out.txt from_file.txt || fail "stdin (-) answers differ from the file's"
  run_attn_stdin texts.txt classify predict "$MODEL" -k 2  # no input: stdin
  cmp -s out.txt from_file.txt || fail "default stdin answers differ from the file's"
  run_attn classify predict "$MODEL" texts.txt --json -k 2
  expect_rc 0
  lines out.txt 2
  grep -q '^{"labels":\["pos","neg"\],"probabilities":\[0\.[0-9]*,0\.[0-9]*\]}$' <(head -1 out.txt) ||
    fail "JSON line: $(head -1 out.txt)"
}

case_predict_batches_keep_order() {
  # More lines than one batch (256), blank lines among them: answer i is for line i, blank for a blank line.
  awk 'BEGIN { for (i = 0; i < 700; i++) print (i % 7 == 3 ? "" : i % 2 ? "awful hate bad" : "great love good") }' >many.txt
  run_attn classify predict "$MODEL" many.txt
  expect_rc 0
  lines out.txt 700
  cut -f1 out.txt | awk '$1 != ((NR - 1) % 7 == 3 ? "" : NR % 2 ? "pos" : "neg") { exit 1 }' ||
    fail "answers out of order or off their lines"
}

case_predict_streams_before_stdin_closes() {
  mkfifo in.fifo
  "$ATTN" classify predict "$MODEL" - <in.fifo >stream.txt 2>err.txt &
  local pid=$!
  exec 3>in.fifo
  echo "great love good" >&3
  local i
  for ((i = 0; i < 300; i++)); do  # up to 30 s (sanitizer builds load slowly)
    [[ -s stream.txt ]] && break
    sleep 0.1
  done
  [[ $(wc -l <stream.txt) == 1 ]] || { exec 3>&-; wait $pid || true; fail "no answer while stdin stays open"; }
  echo "awful hate bad" >&3
  exec 3>&-
  wait $pid || fail "predict failed"
  [[ $(cut -f1 stream.txt | paste -sd,) == "pos,neg" ]] || fail "answers: $(cat stream.txt)"
}

case_explain_terminal_html_svg_json() {
  run_attn classify explain "$MODEL" --text "great movie" --text "awful film" --no-color
  expect_rc 0
  [[ $(grep -c '^predicted: ' out.txt) == 2 ]] || fail "expected one title per text: $(cat out.txt)"
  has out.txt "great"
  lacks out.txt $'\e['
  run_attn classify explain "$MODEL" --text "great movie"  # not a terminal: no colour either
  lacks out.txt $'\e['
  if command -v script >/dev/null; then
    script -qec "'$ATTN' classify explain '$MODEL' --text 'great movie'" /dev/null </dev/null >tty.txt
    grep -q $'\e\[48;2;' tty.txt || fail "no colour on a terminal: $(cat -v tty.txt)"
    script -qec "'$ATTN' classify explain '$MODEL' --text 'great movie' --no-color" /dev/null </dev/null >tty.txt
    ! grep -q $'\e\[' tty.txt || fail "colour on a terminal despite --no-color"
  fi

  gen_fasttext 4 5 >some.txt
  run_attn classify explain "$MODEL" some.txt --html page.html --svg pic.svg --json
  expect_rc 0
  lines out.txt 4
  has err.txt "heatmap written to page.html"
  has err.txt "heatmap written to pic.svg"
  head -1 page.html | grep -q '^<!DOCTYPE html>' || fail "page.html is not an HTML page"
  has page.html "</html>"
  lacks page.html "<script"
  [[ $(grep -c '<section class="text">' page.html) == 4 ]] || fail "page.html should show 4 texts"
  has pic.svg "<svg"
  has pic.svg "</svg>"
  # JSON: the true label, a weight per token, weights summing to 1 (attention).
  local line
  while read -r line; do
    [[ $line =~ \"tokens\":\[([^]]*)\] ]] || fail "no tokens: $line"
    local tokens=${BASH_REMATCH[1]}
    [[ $line =~ \"weights\":\[([^]]*)\] ]] || fail "no weights: $line"
    local weights=${BASH_REMATCH[1]}
    [[ $(tr -cd , <<<"$tokens" | wc -c) == $(tr -cd , <<<"$weights" | wc -c) ]] || fail "tokens/weights: $line"
    tr , '\n' <<<"$weights" | awk '{ s += $1 } END { exit !(s > 0.999 && s < 1.001) }' || fail "weights: $weights"
    [[ $line == *'"true_label":"'* ]] || fail "no true label: $line"
  done <out.txt
  run_attn classify explain "$MODEL" --text "" --json  # an empty text still gets an answer
  expect_rc 0
  has out.txt '"tokens":["<empty>"]'
}

case_csv_quotes_newlines_header_and_joined_columns() {
  {
    echo 'id,title,body,sentiment'
    local i
    for ((i = 0; i < 20; i++)); do
      if ((i % 2)); then
        printf '%d,"awful, ""poor"" film","sad\nbad",neg\n' "$i"
      else
        printf '%d,"great, ""fine"" film","happy\nlove",pos\n' "$i"
      fi
    done
  } >reviews.csv
  local columns=(--label-column sentiment --text-column title --text-column body)
  run_attn classify train reviews.csv -o m "${TINY[@]}" "${columns[@]}"
  expect_rc 0
  run_attn classify test m reviews.csv --json "${columns[@]}"
  expect_rc 0
  [[ $(json_number count out.txt) == 20 ]] || fail "20 records (41 lines) expected: $(cat out.txt)"
  run_attn classify explain m reviews.csv --json --limit 1 "${columns[@]}"
  expect_rc 0
  has out.txt '"tokens":["great",",","\"","fine","\"","film","happy","love"]'
  has out.txt '"true_label":"pos"'
  # A missing header is detected, and the label found by its shape ("pos" beside a text with spaces).
  printf 'pos,"great fine film"\nneg,"awful sad film"\npos,"happy love"\nneg,"bad poor"\n' >noheader.csv
  run_attn classify test m noheader.csv --json
  expect_rc 0
  [[ $(json_number count out.txt) == 4 ]] || fail "4 rows without a header: $(cat out.txt)"
  run_attn classify test m noheader.csv --json --header  # told otherwise: row 1 is the header
  expect_error "noheader.csv:1" "no label column"
}

case_tsv_columns_by_number() {
  gen_fasttext 20 3 | sed 's/^__label__\([a-z]*\) \([a-z]* [a-z]*\) \(.*\)$/\2\t\3\t\1/' >data.tsv
  run_attn classify train data.tsv -o m "${TINY[@]}" --no-header --label-column 3 --text-column 1 --text-column 2
  expect_rc 0
  run_attn classify explain m data.tsv --json --limit 1 --no-header --label-column 3 --text-column 1 --text-column 2
  expect_rc 0
  [[ $(head -1 out.txt) =~ \"tokens\":\[(\"[a-z]+\",){4}\"[a-z]+\"\] ]] || fail "5 tokens expected: $(cat out.txt)"
  run_attn classify train data.tsv -o m2 "${TINY[@]}" --label-column 4
  expect_error "data.tsv:1" "label column 4 is out of range" "3 columns"
}

case_jsonl_and_folder_per_label() {
  printf '{"text": "great fine", "label": "pos"}\n{"text": "awful sad", "label": "neg"}\n' >one.jsonl
  local i
  for ((i = 0; i < 10; i++)); do cat one.jsonl; done >data.jsonl
  run_attn classify train data.jsonl -o m "${TINY[@]}"
  expect_rc 0
  run_attn classify test m data.jsonl --json
  [[ $(json_number count out.txt) == 20 ]] || fail "20 JSON lines: $(cat out.txt)"
  printf '{"review": "great", "stars": "pos"}\n{"review": "", "stars": "neg"}\n' >keys.jsonl
  run_attn classify test m keys.jsonl --json --text-column review --label-column stars
  expect_rc 0
  [[ $(json_number count out.txt) == 2 ]] || fail "an empty text is still an example: $(cat out.txt)"

  mkdir -p corpus/pos corpus/neg
  for ((i = 0; i < 8; i++)); do
    echo "great happy film $i" >"corpus/pos/$i.txt"
    echo "awful sad film $i" >"corpus/neg/$i.txt"
  done
  run_attn classify train corpus -o fm "${TINY[@]}"
  expect_rc 0
  has fm/config.json '"neg"'
  run_attn classify test fm corpus --json
  expect_rc 0
  [[ $(json_number count out.txt) == 16 ]] || fail "16 files: $(cat out.txt)"
  run_attn classify predict fm corpus  # one answer per file, in the order test reads them
  expect_rc 0
  lines out.txt 16
}

case_invalid_utf8_named_or_skipped() {
  gen_fasttext 30 4 >data.txt
  sed -i '5s/ / \xff\xfe /; 9s/ / \xc3 /' data.txt
  run_attn classify train data.txt -o m "${TINY[@]}"
  expect_error "data.txt:5" "invalid UTF-8" "0xFF"
  [[ ! -e m ]] || fail "a failed training wrote the model"
  run_attn classify train data.txt -o m "${TINY[@]}" --skip-bad
  expect_rc 0
  has err.txt "skipped 2 bad rows"
  run_attn classify test "$MODEL" data.txt --skip-bad --json
  expect_rc 0
  [[ $(json_number count out.txt) == 28 ]] || fail "28 of 30 rows expected"
  has err.txt "skipped 2 bad rows"
  strip_labels data.txt >texts.txt
  run_attn classify predict "$MODEL" texts.txt
  expect_error "texts.txt:5" "invalid UTF-8"
  run_attn classify predict "$MODEL" texts.txt --skip-bad
  expect_rc 0
  lines out.txt 28
  printf 'label,text\npos,good\nneg,"bad \xe9 film\nmore"\npos,fine\n' >latin1.csv  # the record starts on line 3
  run_attn classify test "$MODEL" latin1.csv
  expect_error "latin1.csv:3" "invalid UTF-8"
}

case_empty_one_class_and_unseen_labels() {
  : >empty.txt
  run_attn classify train empty.txt -o m "${TINY[@]}"
  expect_error "empty.txt: no examples"
  printf '\n  \n\n' >blank.csv
  run_attn classify train blank.csv -o m "${TINY[@]}"
  expect_error "blank.csv: no examples"
  run_attn classify test "$MODEL" empty.txt
  expect_error "empty.txt: no examples"
  gen_fasttext 20 5 | grep pos >pos.txt
  run_attn classify train pos.txt -o m "${TINY[@]}"
  expect_error "pos.txt" "at least two classes"
  printf '__label__pos good\n__label__neg bad\n__label__meh so so\n' >unseen.txt
  run_attn classify test "$MODEL" unseen.txt
  expect_error "unseen.txt:3" "'meh'" "not seen in training" "neg, pos"
  gen_fasttext 20 6 >train.txt
  run_attn classify train train.txt -o m "${TINY[@]}" --valid unseen.txt
  expect_error "unseen.txt:3" "'meh'"
  [[ ! -e m ]] || fail "a failed training wrote the model"
  # Empty texts are examples: a label with no words trains, and predict answers an empty JSONL text.
  { gen_fasttext 20 7; printf '__label__pos\n__label__neg   \n'; } >with_empty.txt
  run_attn classify train with_empty.txt -o m "${TINY[@]}"
  expect_rc 0
  printf '{"text": ""}\n{"text": "great"}\n' >empty_text.jsonl
  run_attn classify predict "$MODEL" empty_text.jsonl
  expect_rc 0
  lines out.txt 2
}

case_very_long_line() {
  {
    echo "great love good"
    awk -v n=$((10 * 1024 * 1024)) 'BEGIN { r = "good awful great bad "; while (length(r) < n) r = r r
                                            print substr(r, 1, n) }'
    echo "awful hate bad"
  } >long.txt
  run_attn classify predict "$MODEL" long.txt
  expect_rc 0
  lines out.txt 3
  [[ $(sed -n '1p;3p' out.txt | cut -f1 | paste -sd,) == "pos,neg" ]] || fail "answers: $(cat out.txt)"
}

case_binary_garbage() {
  printf 'PK\003\004\000\000\xff\xfe\001garbage\n\x89PNG\r\n\032\n\000\000' >archive.zip
  run_attn classify train archive.zip -o m "${TINY[@]}"
  expect_error "archive.zip:1" "binary file"
  run_attn classify predict "$MODEL" archive.zip
  expect_error "archive.zip:1" "binary file"
  printf '\x1f\x8b\x08\x00garbage that is not deflate data' >fake.gz
  run_attn classify test "$MODEL" fake.gz
  expect_error "fake.gz" "gzip"
  printf '\x89\xc3\x28\xa0\xa1\xe2\x28\xa1\n\xf0\x28\x8c\xbc' >no_nul.bin  # binary without NUL bytes
  run_attn classify train no_nul.bin -o m "${TINY[@]}"
  expect_error "no_nul.bin:1" "invalid UTF-8"
}

case_broken_or_foreign_model_directories() {
  printf 'great\n' >t.txt
  cp -r "$MODEL" truncated && truncate -s 300 truncated/model.safetensors
  run_attn classify predict truncated t.txt
  expect_error "truncated/model.safetensors"
  cp -r "$MODEL" empty_weights && : >empty_weights/model.safetensors
  run_attn classify test empty_weights t.txt
  expect_error "empty_weights/model.safetensors" "too short"
  cp -r "$MODEL" garbage_config && echo 'garbage{' >garbage_config/config.json
  run_attn classify explain garbage_config --text great
  expect_error "garbage_config/config.json" "invalid JSON"
  cp -r "$MODEL" no_vocab && rm no_vocab/vocab.txt
  run_attn classify predict no_vocab t.txt
  expect_error "no_vocab/vocab.txt"
  cp -r "$MODEL" other_task && echo '{"task": "translate", "version": 1}' >other_task/config.json
  run_attn classify predict other_task t.txt
  expect_error "other_task/config.json" "'translate'" "not a text classifier"
  cp -r "$MODEL" bad_values && sed -i 's/"embed_dim": 8/"embed_dim": 0/' bad_values/config.json
  run_attn classify predict bad_values t.txt
  expect_error "bad_values/config.json" "model.embed_dim must be >= 1"
  mkdir not_a_model && echo notes >not_a_model/notes.txt
  run_attn classify predict not_a_model t.txt
  expect_error "not_a_model: not a model directory"
  run_attn classify test missing t.txt
  expect_error "missing: no such model directory"
}

case_output_is_never_clobbered() {
  gen_fasttext 30 8 >train.txt
  gen_fasttext 30 9 | sed '7s/ / \xff /' >bad.txt
  # An existing model survives a failed training untouched.
  cp -r "$MODEL" existing
  local before
  before=$(checksum existing)
  run_attn classify train bad.txt -o existing "${TINY[@]}"
  expect_error "bad.txt:7"
  [[ $(checksum existing) == "$before" ]] || fail "a failed training changed the existing model"
  # A directory that is not a model is refused before training, and nothing is left beside it.
  mkdir precious && echo keep >precious/notes.txt
  run_attn classify train train.txt -o precious --embed-dim 8 --hidden 8 --epochs 2 --min-count 1
  expect_error "precious" "does not look like a model directory" "will not delete it"
  has precious/notes.txt keep
  [[ ! -e precious.checkpoint ]] || fail "a refused output left a checkpoint"
  echo data >a_file
  run_attn classify train train.txt -o a_file "${TINY[@]}"
  expect_error "a_file exists and is not a directory"
  has a_file data
  run_attn classify train train.txt -o no/such/dir "${TINY[@]}"
  expect_error "the directory no/such does not exist"
  [[ -z $(ls -A no 2>/dev/null) ]] || fail "files written for an impossible output"
  run_attn classify train train.txt -o existing "${TINY[@]}" --resume
  expect_error "existing.checkpoint: no checkpoint to resume from"
  # A successful training replaces an old model whole.
  run_attn classify train train.txt -o existing "${TINY[@]}" --seed 3
  expect_rc 0
  [[ $(checksum existing) != "$before" ]] || fail "the model was not replaced"
  [[ -z $(find . -maxdepth 1 -name 'existing.*') ]] || fail "left over: $(find . -maxdepth 1 -name 'existing.*')"
}

case_output_write_errors() {
  [[ -w /dev/full ]] || return 0
  printf '__label__pos great\n__label__neg awful\n' >t.txt
  : >out.txt
  local verb
  for verb in predict test; do  # predict flushes as it goes; test's report is checked at exit
    set +e
    "$ATTN" classify "$verb" "$MODEL" t.txt >/dev/full 2>err.txt
    rc=$?
    set -e
    expect_error "cannot write the output"
  done
}

case_ctrl_c_checkpoint_then_resume() {
  gen_fasttext 300 10 >train.txt
  local args=(--embed-dim 8 --hidden 8 --epochs 40 --patience 0 --min-count 1 --batch-size 8 --seed 5)
  run_attn classify train train.txt -o reference "${args[@]}" -q --json
  expect_rc 0
  cp out.txt reference.json

  # The handler is installed for the epochs; the first epoch's summary line shows it is.
  interrupt_when '^epoch 1/40:' classify train train.txt -o m "${args[@]}" --json
  expect_rc 130
  has err.txt "interrupted: checkpoint written to m.checkpoint (continue with --resume)"
  [[ -f m.checkpoint ]] || fail "no checkpoint"
  [[ ! -e m ]] || fail "an interrupted run wrote the model directory"
  [[ ! -s out.txt ]] || fail "an interrupted run printed metrics"

  run_attn classify train train.txt -o m "${args[@]}" -q --json --resume
  expect_rc 0
  [[ -f m/model.safetensors && ! -e m.checkpoint ]] || fail "resume did not finish the model"
  cmp -s out.txt reference.json || fail "resumed metrics differ: $(cat out.txt) vs $(cat reference.json)"
  cmp -s m/model.safetensors reference/model.safetensors || fail "resumed weights differ from an uninterrupted run"
}

case_pretrain_then_ctrl_c_in_either_phase() {
  gen_fasttext 300 10 >train.txt
  local args=(--embed-dim 8 --hidden 8 --pretrain-epochs 20 --epochs 30 --patience 0 --min-count 1 --batch-size 8
              --seed 5)
  run_attn classify train train.txt -o reference "${args[@]}" --json
  expect_rc 0
  has err.txt "pretraining the encoder as a language model for 20 epochs"
  has err.txt "perplexity"
  cp out.txt reference.json
  run_attn classify train train.txt -o m --model transformer --pretrain-epochs 2 -q
  expect_error "train.pretrain_epochs needs a recurrent model (bilstm-attn or gru-attn), not transformer"

  # Stopped while pretraining: its own checkpoint; resumed: the same model as the uninterrupted run.
  interrupt_when '^epoch 1/20:' classify train train.txt -o m "${args[@]}" --json
  expect_rc 130
  has err.txt "interrupted: checkpoint written to m.checkpoint-pretrain (continue with --resume)"
  [[ -f m.checkpoint-pretrain && ! -e m.checkpoint && ! -e m ]] || fail "expected only the pretraining checkpoint"
  run_attn classify train train.txt -o m "${args[@]}" -q --json --resume
  expect_rc 0
  [[ ! -e m.checkpoint-pretrain && ! -e m.checkpoint ]] || fail "checkpoints left after the model was written"
  cmp -s m/model.safetensors reference/model.safetensors || fail "resumed weights differ from an uninterrupted run"

  # Stopped while training the classifier: the pretrained weights are in its checkpoint.
  interrupt_when '^epoch 1/30:' classify train train.txt -o m2 "${args[@]}" --json
  expect_rc 130
  has err.txt "interrupted: checkpoint written to m2.checkpoint (continue with --resume)"
  run_attn classify train train.txt -o m2 "${args[@]}" -q --json --resume
  expect_rc 0
  cmp -s out.txt reference.json || fail "resumed metrics differ: $(cat out.txt) vs $(cat reference.json)"
  cmp -s m2/model.safetensors reference/model.safetensors || fail "resumed weights differ from an uninterrupted run"
}

case_ensemble_ctrl_c_in_a_member_then_resume() {
  gen_fasttext 300 10 >train.txt
  local args=(--embed-dim 8 --hidden 8 --ensemble 3 --epochs 30 --patience 0 --min-count 1 --batch-size 8 --seed 5)
  run_attn classify train train.txt -o reference "${args[@]}" --json
  expect_rc 0
  has err.txt "ensemble member 3/3 (seed 7)"
  has err.txt "ensemble of 3: validation accuracy"
  cp out.txt reference.json
  [[ -f reference/members/3/model.safetensors && ! -e reference.members ]] || fail "expected members 1-3 and no staging"
  run_attn classify predict reference train.txt
  expect_rc 0

  # Stopped in the second member (its first epoch): the first stays finished, the second resumes.
  interrupt_when --nth 31 '^epoch [0-9]*/30:' classify train train.txt -o m "${args[@]}" --json
  expect_rc 130
  has err.txt "m.members/2.checkpoint (continue with --resume)"
  [[ -f m.members/1/model.safetensors && ! -e m ]] || fail "expected the first member finished and no model"
  run_attn classify train train.txt -o m "${args[@]}" -q --json --resume
  expect_rc 0
  cmp -s out.txt reference.json || fail "resumed metrics differ: $(cat out.txt) vs $(cat reference.json)"
  for i in 1 2 3; do
    cmp -s m/members/$i/model.safetensors reference/members/$i/model.safetensors || fail "member $i differs"
  done
}

# ---------------------------------------------------------------------------------------------------------------

CASES=(
  help_on_every_command usage_errors_exit_2 train_writes_a_model_that_learned test_report_and_json_metrics
  predict_top_k_from_file_and_stdin predict_batches_keep_order predict_streams_before_stdin_closes
  explain_terminal_html_svg_json csv_quotes_newlines_header_and_joined_columns tsv_columns_by_number
  jsonl_and_folder_per_label invalid_utf8_named_or_skipped empty_one_class_and_unseen_labels very_long_line
  binary_garbage broken_or_foreign_model_directories output_is_never_clobbered output_write_errors
  ctrl_c_checkpoint_then_resume pretrain_then_ctrl_c_in_either_phase ensemble_ctrl_c_in_a_member_then_resume
)
setup_shared() {
  gen_fasttext 80 1 >"$WORK/model_train.txt"
  "$ATTN" classify train "$WORK/model_train.txt" -o "$MODEL" "${LEARN[@]}" >/dev/null
}

run_cases "$@"
