#!/usr/bin/env bash
# End-to-end tests of `attn seq2seq train | test`, `attn translate` and `attn summarize`: outputs, n-best lists,
# attention files, streaming, and bad input, on tiny synthetic parallel data made here (CTest: cli.seq2seq).
# Usage: seq2seq_cli_test.sh path/to/attn [CASE ...] [-CASE ...].
set -euo pipefail
source "$(dirname "$0")/cli_lib.sh"

ATTN=$(realpath "$1")
shift
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_NUM_THREADS=1  # models this small train fastest on one thread

TINY=(--embed-dim 16 --hidden 16 --ff-dim 32 --heads 2 --layers 1 --subword words --epochs 2 --warmup 10
      --batch-tokens 200 --valid-sentences 20 -q)
MODEL=$WORK/model  # rnn-attn, trained once; the cases only read it

# Pairs "source words<TAB>their translation": word k of the source language maps to word k of the target one.
gen_pairs() {  # gen_pairs N SEED
  awk -v n="$1" -v seed="$2" 'BEGIN {
    srand(seed)
    split("ein Hund Mann Frau spielt läuft im Park mit dem Ball rot", S, " ")
    split("a dog man woman plays runs in-the park with the ball red", T, " ")
    for (i = 0; i < n; i++) {
      len = 2 + int(rand() * 4); s = ""; t = ""
      for (k = 0; k < len; k++) { w = 1 + int(rand() * 12); s = s (k ? " " : "") S[w]; t = t (k ? " " : "") T[w] }
      printf "%s\t%s\n", s, t
    }
  }'
}

case_help_on_every_command() {
  local cmd
  for cmd in "seq2seq" "seq2seq train" "seq2seq test" "seq2seq score" "translate" "summarize"; do
    # shellcheck disable=SC2086
    run_attn $cmd --help
    expect_rc 0
    has out.txt "Usage"
  done
  run_attn seq2seq train --help
  has out.txt "--src-train"
  has out.txt "--share-embeddings"
  run_attn translate --help
  has out.txt "--n-best"
  has out.txt "--attention"
}

case_usage_errors_exit_2() {
  run_attn seq2seq train -o m
  expect_usage_error "--src-train"
  run_attn seq2seq train --train x.tsv
  expect_usage_error "--output is required"
  run_attn seq2seq train --train x.tsv -o m --model lstm
  expect_usage_error "--model"
  run_attn translate "$MODEL" --beam 0
  expect_usage_error "--beam" ">= 1"
  run_attn translate "$MODEL" --no-repeat-ngram -1
  expect_usage_error "--no-repeat-ngram"
  run_attn seq2seq test "$MODEL"
  expect_usage_error "--src and --ref"
}

case_translate_file_stdin_nbest_json() {
  printf 'ein Hund\n\nMann spielt im Park\n' >in.txt
  run_attn translate "$MODEL" in.txt
  expect_rc 0
  lines out.txt 3  # the empty line keeps its place
  [[ $(sed -n 2p out.txt) == "" ]] || fail "line 2 should be empty"
  run_attn_stdin in.txt translate "$MODEL" - --beam 3 --n-best 2
  expect_rc 0
  lines out.txt 5  # two per sentence, one for the empty line
  grep -qP '^1\t-?[0-9.]+\t' out.txt || fail "n-best lines are rank<TAB>score<TAB>text"
  run_attn translate "$MODEL" in.txt --json
  has out.txt '"outputs"'
  has out.txt '"scores"'
  run_attn translate "$MODEL" in.txt --beam 2 --n-best 3
  expect_error "--n-best 3" "--beam 2"
  run_attn translate "$MODEL" in.txt --no-repeat-ngram 1 --max-length 12
  expect_rc 0
  lines out.txt 3
  awk '{ delete seen; for (i = 1; i <= NF; i++) if (seen[$i]++) exit 1 }' out.txt ||
    fail "--no-repeat-ngram 1 repeated a word"
  run_attn summarize "$MODEL" in.txt --max-length 2
  expect_rc 0
  awk -F' ' 'NF > 2 { exit 1 }' out.txt || fail "--max-length 2 gave a longer output"
}

case_test_scores_and_output() {
  gen_pairs 30 9 >test.tsv
  run_attn seq2seq test "$MODEL" --tsv test.tsv --json --output hyp.txt
  expect_rc 0
  local key
  for key in bleu chrf rouge1 rouge2 rougeL; do has out.txt "\"$key\""; done
  lines hyp.txt 30
  cut -f1 test.tsv >src.txt
  cut -f2 test.tsv >ref.txt
  run_attn seq2seq test "$MODEL" --src src.txt --ref ref.txt
  has out.txt "bleu"
  run_attn seq2seq score ref.txt ref.txt --json
  [[ $(json_number bleu out.txt) == 100* ]] || fail "references scored against themselves: $(cat out.txt)"
  head -3 ref.txt >short.txt
  run_attn seq2seq score short.txt ref.txt
  expect_error "short.txt has 3 lines" "ref.txt has 30"
}

case_attention_html_svg_json() {
  printf 'ein Hund\nMann spielt\n' >in.txt
  run_attn translate "$MODEL" in.txt --attention a.html
  expect_rc 0
  has a.html "<svg"
  has a.html "Hund"
  run_attn translate "$MODEL" in.txt --attention a.svg
  [[ -s a-1.svg && -s a-2.svg ]] || fail "one SVG per sentence expected"
  run_attn translate "$MODEL" in.txt --attention a.json
  lines a.json 2
  has a.json '"weights"'
  has a.json '"source":["ein","Hund"]'
  run_attn translate "$MODEL" in.txt --attention a.png
  expect_error ".html, .svg or .json"
}

case_transformer_bpe_separate_vocab_summarize() {
  gen_pairs 120 3 >train.tsv
  run_attn seq2seq train --train train.tsv -o m "${TINY[@]}" --model transformer --subword bpe --vocab-size 40 \
    --separate-vocab --task summarize --json
  expect_rc 0
  has out.txt '"rougeL"'
  [[ -f m/source.model && -f m/target.model && -f m/model.safetensors ]] || fail "model files missing: $(ls m)"
  printf 'ein Hund läuft\n' | "$ATTN" summarize m >out.txt
  lines out.txt 1
}

# A summariser that can copy: the pointer-generator trains and decodes through the CLI; --copy with separate
# vocabularies is refused before training starts.
case_copy_summarizer() {
  gen_pairs 120 4 | awk -F'\t' '{ print $1 " und mehr\t" $1 }' >train.tsv
  run_attn seq2seq train --train train.tsv -o m "${TINY[@]}" --model transformer --copy --share-embeddings \
    --task summarize --json
  expect_rc 0
  has m/config.json '"copy": true'
  printf 'ein Hund läuft und mehr\n' | "$ATTN" summarize m --beam 3 >out.txt
  lines out.txt 1
  run_attn seq2seq train --train train.tsv -o m2 "${TINY[@]}" --model transformer --copy --separate-vocab
  expect_error "model.copy needs the transformer and a joint vocabulary"
  [[ ! -e m2 ]] || fail "m2 was created"
}

case_bad_input_named() {
  gen_pairs 20 5 | cut -f1 >src.txt
  gen_pairs 19 5 | cut -f2 >tgt.txt
  run_attn seq2seq train --src-train src.txt --tgt-train tgt.txt -o m "${TINY[@]}"
  expect_error "src.txt has 20 lines" "tgt.txt has 19"
  gen_pairs 20 5 >good.tsv
  { head -3 good.tsv; printf 'kaputt \xff\tbroken\n'; tail -3 good.tsv; } >bad.tsv
  run_attn seq2seq train --train bad.tsv -o m "${TINY[@]}"
  expect_error "bad.tsv:4" "invalid UTF-8"
  run_attn seq2seq train --train bad.tsv -o m "${TINY[@]}" --skip-bad
  expect_rc 0
  has err.txt "skipped 1 bad pairs"
  { head -3 good.tsv; printf '\t\nword\t\n'; tail -5 good.tsv; } >empty.tsv
  run_attn seq2seq train --train empty.tsv -o m2 --embed-dim 16 --hidden 16 --layers 1 --subword words --epochs 1
  expect_rc 0
  has err.txt "2 pairs with an empty side"
  printf 'ein \xfe Hund\n' >in.txt
  run_attn translate "$MODEL" in.txt
  expect_error "in.txt:1" "invalid UTF-8"
  run_attn translate "$WORK/none" in.txt
  expect_error "no such model directory"
  mkdir notamodel
  run_attn translate notamodel in.txt
  expect_error "not a model directory"
  cp -r "$MODEL" broken
  head -c 100 "$MODEL/model.safetensors" >broken/model.safetensors
  printf 'ein Hund\n' >ok.txt
  run_attn translate broken ok.txt
  expect_error "model.safetensors"
  cp -r "$MODEL" foreign
  sed -i 's/"task": *"seq2seq"/"task": "classify"/' foreign/config.json
  run_attn translate foreign ok.txt
  expect_error "not a sequence-to-sequence"
}

case_long_inputs_cut_and_warned() {
  gen_pairs 60 4 >train.tsv
  run_attn seq2seq train --train train.tsv -o m "${TINY[@]}" --max-source-length 3
  expect_rc 0
  printf 'ein Hund Mann Frau spielt läuft\nein Hund Mann Frau spielt läuft im Park\nein\n' >in.txt
  run_attn translate m in.txt
  expect_rc 0
  lines out.txt 3
  has err.txt "2 inputs longer than 3 subwords were cut"
  [[ $(grep -c warning err.txt) == 1 ]] || fail "warned more than once"
}

case_output_is_never_clobbered() {
  gen_pairs 30 2 >train.tsv
  mkdir precious
  echo keep >precious/file.txt
  run_attn seq2seq train --train train.tsv -o precious "${TINY[@]}"
  expect_error "precious"
  has precious/file.txt keep
}

case_ctrl_c_checkpoint_then_resume() {
  gen_pairs 200 8 >train.tsv
  local args=(--embed-dim 16 --hidden 16 --ff-dim 32 --heads 2 --layers 1 --subword bpe --vocab-size 40 --epochs 8
              --patience 0 --warmup 10 --batch-tokens 100 --valid-sentences 10 --seed 3)
  run_attn seq2seq train --train train.tsv -o reference "${args[@]}" -q --json
  expect_rc 0
  cp out.txt reference.json
  interrupt_when '^epoch 1/8:' seq2seq train --train train.tsv -o m "${args[@]}" --json  # after epoch 1
  expect_rc 130
  [[ -f m.checkpoint && -f m.checkpoint.vocab/subword.model && ! -e m ]] || fail "checkpoint files: $(ls)"
  run_attn seq2seq train --train train.tsv -o m "${args[@]}" -q --json --resume
  expect_rc 0
  [[ -f m/model.safetensors && ! -e m.checkpoint && ! -e m.checkpoint.vocab ]] || fail "resume did not finish: $(ls)"
  cmp -s out.txt reference.json || fail "resumed metrics differ: $(cat out.txt) vs $(cat reference.json)"
  cmp -s m/model.safetensors reference/model.safetensors || fail "resumed weights differ from an uninterrupted run"
  run_attn seq2seq train --train train.tsv -o other "${args[@]}" -q --resume
  expect_error "no checkpoint to resume from"
}

CASES=(
  help_on_every_command usage_errors_exit_2 translate_file_stdin_nbest_json test_scores_and_output
  attention_html_svg_json transformer_bpe_separate_vocab_summarize copy_summarizer bad_input_named
  long_inputs_cut_and_warned
  output_is_never_clobbered ctrl_c_checkpoint_then_resume
)
setup_shared() {
  gen_pairs 200 1 >"$WORK/train.tsv"
  "$ATTN" seq2seq train --train "$WORK/train.tsv" -o "$MODEL" "${TINY[@]}" --model rnn-attn >/dev/null
}

run_cases "$@"
