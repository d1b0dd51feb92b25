$series0 << EOD
4 4.541056
6 4.54983
8 4.661176
10 4.990826
12 5.18958
14 5.301496
16 5.358912
20 6.189632
24 6.189952
28 6.1904
32 6.190528
EOD
set title "Compiled BERT-Tiny: file size"
set xlabel "fixed-point width (bits) of every Linear's input, weight and bias (PTQ)"
set ylabel "MB (float32 checkpoint: 17.55 MB)"
set grid
set key bottom right
set xtics (4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "/tmp/deploy-bench/widths-size.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model file", 5.01409 with lines dt 2 lw 2 title "float32 checkpoint / 3.5 (the 8-bit target)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "/tmp/deploy-bench/widths-size.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model file", 5.01409 with lines dt 2 lw 2 title "float32 checkpoint / 3.5 (the 8-bit target)"
unset output
