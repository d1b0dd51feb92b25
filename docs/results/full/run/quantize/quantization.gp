$series0 << EOD
4 0.5
6 0.86324
8 0.8774
10 0.87788
12 0.87792
14 0.87804
16 0.87796
20 0.8782
24 0.87812
28 0.87824
32 0.87828
EOD
$series1 << EOD
4 0.5
6 0.8702
8 0.8728
10 0.87208
12 0.8728
14 0.87296
16 0.87328
20 0.8732
24 0.87308
28 0.87312
32 0.87316
EOD
set title "Fixed-point quantization of every Linear (IMDb test)"
set xlabel "fixed-point width (bits)"
set ylabel "highest accuracy"
set grid
set key bottom right
set xtics (4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "/work/runs/lab-full/quantize/quantization.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "PTQ", $series1 using 1:2 with linespoints lw 2 pt 7 title "QAT", 0.87828 with lines dt 2 lw 2 title "float32 baseline"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "/work/runs/lab-full/quantize/quantization.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "PTQ", $series1 using 1:2 with linespoints lw 2 pt 7 title "QAT", 0.87828 with lines dt 2 lw 2 title "float32 baseline"
unset output
