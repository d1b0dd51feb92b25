$series0 << EOD
0.5 0.5431485075
0.7 0.533381497
0.9 0.5334694212
EOD
set title "Compiled pruned 8-bit BERT-Tiny: evaluation time per token"
set xlabel "weight sparsity (L1, per layer), 8-bit"
set ylabel "relative to float32 LibTorch (lower is faster)"
set grid
set key bottom right
set xtics (0.5, 0.7, 0.9)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "docs/results/deploy/pruned-time.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "docs/results/deploy/pruned-time.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
unset output
