#!/bin/bash
# Writes OUT/report.md and the plots from the runs of scripts/compare.sh, and prints
# the result table.  Usage: scripts/report.sh OUT ELAPSED_SECONDS LABEL:keys...
set -eu
OUT=$1
ELAPSED=$2
shift 2
R=$OUT/report.md
TABLE=$OUT/table.md

# stats FILE: mean and sample standard deviation of the numbers in FILE, one a line
stats() { awk '{ s += $1; q += $1 * $1; n++ } END { if (!n) { print "n/a"; exit }
    m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0; if (sd != sd) sd = 0
    if (n > 1) printf "%.4f ± %.4f", m, sd; else printf "%.4f", m }' "$1"; }
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.4f", s / n; else print "n/a" }' "$1"; }

echo "| variant | [ohem] keys | mAP@0.5 | final avg loss | s / iteration | images / s | runs |" >"$TABLE"
echo "|---|---|---|---|---|---|---|" >>"$TABLE"
SEL=$OUT/selection.md
echo "| variant | kept / candidates | positives kept / positives | mean loss kept / mean loss all |" >"$SEL"
echo "|---|---|---|---|" >>"$SEL"
AP=$OUT/ap.dat
CLASSES=""
first=1
for v in "$@"; do
    label=${v%%:*}
    keys=${v#*:}
    : >"$OUT/$label.map"; : >"$OUT/$label.loss"; : >"$OUT/$label.sec"; : >"$OUT/$label.ips"
    : >"$OUT/$label.sel"; : >"$OUT/$label.ap"
    n=0
    for run in "$OUT"/runs/"$label"-s*; do
        [ -f "$run/map.txt" ] || continue
        n=$((n + 1))
        tail -n 1 "$run/map.txt" | awk '{ print $3 }' >>"$OUT/$label.map"
        # per-class AP: the class rows (not the notes, the header or the mAP line)
        awk 'NF == 8 && $1 != "class" { print $1, $4 }' "$run/map.txt" >>"$OUT/$label.ap"
        awk -F, 'NR > 1 { l = $3 } END { print l }' "$run/train.csv" >>"$OUT/$label.loss"
        awk -F, 'NR > 6 { print $5 }' "$run/train.csv" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' >"$run/sec"
        cat "$run/sec" >>"$OUT/$label.sec"
        awk -F, -v s="$(cat "$run/sec")" 'NR == 2 { print $6 / s }' "$run/train.csv" >>"$OUT/$label.ips"
        awk -F, 'NR > 1 && $8 > 0 { k += $7 / $8; if ($10 > 0) { p += $9 / $10; np++ }
            if ($7 > 0 && $12 > 0) r += $11 / $12; n++ }   # ohem_loss_kept and _all are means
            END { if (n) printf "%.4f %.4f %.2f\n", k / n, np ? p / np : 0, r / n }' "$run/train.csv" >>"$OUT/$label.sel"
        awk -F, 'NR > 1 { print $1, $3 }' "$run/train.csv" >"$run/loss.dat"
        awk -F, 'NR > 1 && $13 != "" { print $1, $13 }' "$run/train.csv" >"$run/map.dat"
    done
    [ "$n" -gt 0 ] || continue
    echo "| $label | ${keys:-(none)} | $(stats "$OUT/$label.map") | $(stats "$OUT/$label.loss") | $(mean "$OUT/$label.sec") | $(mean "$OUT/$label.ips") | $n |" >>"$TABLE"
    if [ -s "$OUT/$label.sel" ] && [ -n "$keys" ]; then
        awk -v l="$label" '{ k += $1; p += $2; r += $3; n++ } END { printf "| %s | %.2f%% | %.1f%% | %.1fx |\n", l, 100 * k / n, 100 * p / n, r / n }' "$OUT/$label.sel" >>"$SEL"
    fi
    # mean AP per class over the seeds
    awk '{ s[$1] += $2; c[$1]++; if (!($1 in o)) { o[$1] = ++k; name[k] = $1 } }
        END { for (i = 1; i <= k; i++) printf "%s %.4f\n", name[i], s[name[i]] / c[name[i]] }' "$OUT/$label.ap" >"$OUT/$label.apmean"
    if [ $first = 1 ]; then
        cp "$OUT/$label.apmean" "$AP"
        first=0
    else
        paste -d' ' "$AP" "$OUT/$label.apmean" | awk '{ $(NF - 1) = ""; print }' | tr -s ' ' >"$AP.tmp" && mv "$AP.tmp" "$AP"
    fi
done

# plot_runs FILE STYLE: a gnuplot plot command over FILE of every run, one colour a variant
plot_runs() {
    printf "plot"
    local sep="" i=1
    for l in $LABELS; do
        for run in "$OUT"/runs/"$l"-s*; do
            [ -s "$run/$1" ] && printf "%s '%s' using 1:2 with %s lc %d title '%s'" "$sep" "$run/$1" "$2" "$i" "$(basename "$run")" && sep=","
        done
        i=$((i + 1))
    done
    echo
}

# plots
LABELS=""
for v in "$@"; do LABELS="$LABELS ${v%%:*}"; done
PLOT=$OUT/plots.gp
{
    echo "set terminal pngcairo size 900,540 font ',11' noenhanced"
    echo "set grid; set key top right"
    echo "set output '$OUT/loss.png'; set title 'Training loss (avg), every run'; set xlabel 'iteration'; set ylabel 'avg loss'; set logscale y"
    plot_runs loss.dat lines
    echo "unset logscale y"
    echo "set output '$OUT/map.png'; set title 'mAP@0.5 on the valid set'; set ylabel 'mAP@0.5'; set yrange [0:*]; set key bottom right"
    plot_runs map.dat linespoints
    echo "set output '$OUT/ap.png'; set title 'AP@0.5 per class (mean over seeds)'; set xlabel ''; set ylabel 'AP'; set yrange [0:1]"
    echo "set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1; set key top right"
    printf "plot"; sep=""
    c=2
    for l in $LABELS; do
        printf "%s '%s' using %d:xtic(1) title '%s'" "$sep" "$AP" "$c" "$l"; sep=","; c=$((c + 1))
    done
    echo
} >"$PLOT"
gnuplot "$PLOT" 2>"$OUT/gnuplot.log" || echo "compare: gnuplot failed, see $OUT/gnuplot.log" >&2

# The gemm the trainings ran on, as `detector train` printed it at the start of
# each run ("gemm: ...; N threads"), each distinct one once.
GEMM=$(cat "$OUT"/runs/*/train.out 2>/dev/null | sed -n 's/^gemm: \([^;]*\);.*/\1/p' | sort -u | paste -sd '/' -)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# ${REPORT_TITLE:-[ohem] against the baseline on the built-in fashion data set}"
    echo
    echo "Written by \`scripts/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $((ELAPSED / 60)) min."
    echo
    echo "## Result"
    echo
    cat "$TABLE"
    echo
    echo "mAP@0.5 is measured by \`./darknet detector map\` on the valid set with the final"
    echo "weights, as mean ± sample standard deviation over the seeds. s / iteration is the"
    echo "median training step."
    if cat "$OUT"/runs/fashion-*.cfg 2>/dev/null | grep -q '^\[roi_loss\]'; then
        echo "The loss of a two-stage run is the RPN's plus the mean over the RoIs that train"
        echo "(the sampler's, or those that [ohem] keeps, whose mean is higher by construction)."
    else
        echo "The loss is the full loss (all candidates) for every variant."
    fi
    echo
    echo "## AP per class (mean over seeds)"
    echo
    printf "| class |"; for l in $LABELS; do printf " %s |" "$l"; done; echo
    printf "|---|"; for l in $LABELS; do printf -- "---|"; done; echo
    awk '{ printf "| %s |", $1; for (i = 2; i <= NF; i++) printf " %s |", $i; print "" }' "$AP"
    echo
    if [ "$(wc -l <"$SEL")" -gt 2 ]; then # a variant with [ohem]
        echo "## What [ohem] selected (mean over iterations and seeds)"
        echo
        cat "$SEL"
        echo
    fi
    echo "## Plots"
    echo
    echo "![training loss](loss.png)"
    echo
    echo "![mAP against iteration](map.png)"
    echo
    echo "![AP per class](ap.png)"
    echo
    echo "## Commands"
    echo
    echo '```'
    cat "$OUT/commands.txt"
    echo '```'
    echo
    echo "## Machine and versions"
    echo
    echo "- CPU: $CPU, $(nproc) cores; memory $(free -g | awk '/Mem:/ { print $2 }') GiB; $(uname -sr)"
    echo "- darknet $(dpkg-query -W -f='${Version}' darknet), OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?'), $(cc --version | head -n 1)"
    echo "- ohem-darknet commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
    echo "- gemm: ${GEMM:-?}; threads per run: ${OHEM_THREADS:-1} (OHEM_THREADS); trainings run side by side: ${JOBS:-1}"
} >"$R"
echo
cat "$TABLE"
echo
echo "report: $R (plots: $OUT/loss.png, $OUT/map.png, $OUT/ap.png)"
