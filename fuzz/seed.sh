#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs from the repository: the real fixtures and
# golden files of testdata/, the saved regression inputs of testdata/fuzz/<target>/, and the
# hostile audio corpus that auscult-audio writes (its `hostile_corpus` example).
#
#   fuzz/seed.sh            # from anywhere; idempotent (existing seeds are overwritten)
#
# Audio seeds are cut to their first 16 KiB (a truncated file is a good seed too, and short
# inputs keep the fuzzer fast); libFuzzer cuts anything longer than -max_len itself.
set -euo pipefail

cd "$(dirname "$0")/.."
corpus=fuzz/corpus
testdata=testdata
audio_cut=16384

hostile=$(mktemp -d)
trap 'rm -rf "$hostile"' EXIT
cargo run --quiet -p auscult-audio --example hostile_corpus -- "$hostile" >/dev/null

# seed TARGET PREFIX_BYTE_OR_EMPTY MAX_BYTES FILE...: copies each FILE (cut to MAX_BYTES,
# after an optional first byte given as an octal escape) into the target's corpus, named
# after its path.
seed() {
    local target=$1 prefix=$2 max=$3
    shift 3
    mkdir -p "$corpus/$target"
    local f name
    for f in "$@"; do
        [ -f "$f" ] || continue
        name=$(printf '%s' "${f#"$hostile"/}" | tr '/ ' '__')
        { [ -n "$prefix" ] && printf "$prefix"; head -c "$max" "$f"; } > "$corpus/$target/$name"
    done
}

# The selector byte of audio_any for an extension (flac, mp3, ogg, wav -> 0..3).
selector() {
    case "${1##*.}" in
        flac) echo '\000' ;;
        mp3) echo '\001' ;;
        ogg) echo '\002' ;;
        *) echo '\003' ;;
    esac
}

mapfile -t wavs < <(find "$testdata/fixtures" "$testdata/golden" -name '*.wav' | sort)
mapfile -t hostile_files < <(find "$hostile" -type f | sort)
mapfile -t hostile_wavs < <(find "$hostile" -type f -name '*.wav' | sort)

seed wav_decode '' "$audio_cut" "${wavs[@]}" "${hostile_wavs[@]}" "$testdata"/fuzz/wav_decode/*
for f in "${wavs[@]}" "${hostile_files[@]}"; do
    seed audio_any "$(selector "$f")" "$audio_cut" "$f"
done
seed audio_any '' 65536 "$testdata"/fuzz/audio_any/*

# The smaller golden arrays whole; the big ones are cut by libFuzzer.
mapfile -t npys < <(find "$testdata/golden" -name '*.npy' | sort)
seed npy '' 65536 "${npys[@]}" "$testdata"/fuzz/npy/*

mapfile -t texts < <(find "$testdata/fixtures/real/icbhi" -name '*.txt' -o -name '*.csv' | sort)
seed icbhi_text '' 65536 "${texts[@]}" "$testdata"/fuzz/icbhi_text/*

seed coswara_csv '' 65536 "$testdata"/fixtures/real/coswara/*.csv "$testdata"/fuzz/coswara_csv/*

mapfile -t jsons < <(find "$testdata/fixtures/real/coswara" -name '*.json' | sort)
seed corpus_manifest '' 65536 "$testdata"/fuzz/corpus_manifest/* "${jsons[@]}"

for d in "$corpus"/*/; do
    printf '%-18s %4d files\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
