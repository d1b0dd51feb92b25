$series0 << EOD
4 0.5404525659
6 0.5415928763
8 0.5364603521
10 0.5862140719
12 0.5805093847
14 0.5760119778
16 0.5796685566
20 1.025965301
24 1.026651162
28 1.035442217
32 1.030520553
EOD
set title "Compiled BERT-Tiny: evaluation time per token"
set xlabel "fixed-point width (bits) of every Linear's input, weight and bias (PTQ)"
set ylabel "relative to float32 LibTorch (lower is faster)"
set grid
set key bottom right
set xtics (4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "docs/results/deploy/widths-time.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "docs/results/deploy/widths-time.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
unset output
