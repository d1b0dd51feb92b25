$series0 << EOD
4 0.5
6 0.52068
8 0.86964
10 0.87164
12 0.87136
14 0.87196
16 0.87232
20 0.87228
24 0.87232
28 0.8724
32 0.8724
EOD
$series1 << EOD
4 0.5
6 0.87144
8 0.86876
10 0.86896
12 0.86908
14 0.86924
16 0.86928
20 0.86932
24 0.86928
28 0.8694
32 0.8694
EOD
set title "Fixed-point quantization of every Linear (IMDb test)"
set xlabel "fixed-point width (bits)"
set ylabel "highest accuracy"
set grid
set key bottom right
set xtics (4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "docs/results/quant/quantization.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "PTQ", $series1 using 1:2 with linespoints lw 2 pt 7 title "QAT", 0.8724 with lines dt 2 lw 2 title "float32 baseline"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "docs/results/quant/quantization.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "PTQ", $series1 using 1:2 with linespoints lw 2 pt 7 title "QAT", 0.8724 with lines dt 2 lw 2 title "float32 baseline"
unset output
