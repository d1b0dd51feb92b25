$series0 << EOD
0.5 4.661176
0.7 4.661101
0.9 4.623732
EOD
set title "Compiled pruned 8-bit BERT-Tiny: file size"
set xlabel "weight sparsity (L1, per layer), 8-bit"
set ylabel "MB (float32 checkpoint: 17.55 MB)"
set grid
set key bottom right
set xtics (0.5, 0.7, 0.9)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "docs/results/deploy/pruned-size.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model file", 5.01409 with lines dt 2 lw 2 title "float32 checkpoint / 3.5 (the 8-bit target)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "docs/results/deploy/pruned-size.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model file", 5.01409 with lines dt 2 lw 2 title "float32 checkpoint / 3.5 (the 8-bit target)"
unset output
