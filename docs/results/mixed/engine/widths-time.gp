$series0 << EOD
8 0.4622214711
EOD
set title "Compiled BERT-Tiny: evaluation time per token"
set xlabel "fixed-point width (bits) of every Linear's input, weight and bias (PTQ)"
set ylabel "relative to float32 LibTorch (lower is faster)"
set grid
set key bottom right
set xtics (8)
if (!exists("png_file")) png_file = "docs/results/mixed/engine/widths-time.png"
if (!exists("svg_file")) svg_file = "docs/results/mixed/engine/widths-time.svg"
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output png_file
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output svg_file
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
unset output
