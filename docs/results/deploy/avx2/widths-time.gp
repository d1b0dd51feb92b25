$series0 << EOD
4 0.7586799051
6 0.7738084136
8 0.7516264286
10 0.8903426507
12 0.9037809104
14 0.855162775
16 0.873338552
20 1.099503138
24 1.040744158
28 1.053964721
32 1.045378116
EOD
set title "Compiled BERT-Tiny: evaluation time per token"
set xlabel "fixed-point width (bits) of every Linear's input, weight and bias (PTQ)"
set ylabel "relative to float32 LibTorch (lower is faster)"
set grid
set key bottom right
set xtics (4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "/tmp/deploy-bench/widths-time.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "/tmp/deploy-bench/widths-time.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model (median of the rounds)", 1 with lines dt 2 lw 2 title "float32", 0.666667 with lines dt 2 lw 2 title "1 / 1.5 (the 8-bit target)"
unset output
